#include "broker/request/authorized.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "broker/metadata/controller.h"

namespace strata::request {

namespace {

using security::AclOperation;
using security::ResourceType;

constexpr ErrorCode kTopicDenied = ErrorCode::kTopicAuthorizationFailed;
constexpr ErrorCode kGroupDenied = ErrorCode::kGroupAuthorizationFailed;
constexpr ErrorCode kClusterDenied = ErrorCode::kClusterAuthorizationFailed;
constexpr ErrorCode kTxnIdDenied = ErrorCode::kTransactionalIdAuthorizationFailed;

// Kafka's messages for the authorization errors.
std::string TopicMessage(const std::string& topic) {
  return absl::StrCat("Not authorized to access topics: [", topic, "]");
}
std::string GroupMessage(const std::string& group) {
  return absl::StrCat("Not authorized to access group: ", group);
}
constexpr char kClusterMessage[] = "Cluster authorization failed.";
constexpr char kTxnIdMessage[] = "Transactional Id authorization failed.";

// Splits `items` into those `allowed` keeps (moved into the result) and the
// positions of the others, so answers can be put back in request order.
template <typename T, typename Pred>
std::vector<T> Partition(std::vector<T>& items, Pred allowed, std::vector<bool>* kept) {
  std::vector<T> out;
  kept->assign(items.size(), false);
  for (size_t i = 0; i < items.size(); ++i) {
    if (allowed(items[i])) {
      (*kept)[i] = true;
      out.push_back(std::move(items[i]));
    }
  }
  return out;
}

// The callee's answers for the kept items, in order, with `refused(i)` in
// the place of each item that was not kept. When the callee answered
// something other than one result per kept item (a whole-request error),
// its answers come first and the refusals after.
template <typename R, typename Refused>
std::vector<R> Merge(const std::vector<bool>& kept, std::vector<R> answered, Refused refused) {
  const size_t n_kept = std::count(kept.begin(), kept.end(), true);
  std::vector<R> out;
  out.reserve(kept.size());
  if (answered.size() != n_kept) {
    out = std::move(answered);
    for (size_t i = 0; i < kept.size(); ++i) {
      if (!kept[i]) out.push_back(refused(i));
    }
    return out;
  }
  size_t next = 0;
  for (size_t i = 0; i < kept.size(); ++i) {
    out.push_back(kept[i] ? std::move(answered[next++]) : refused(i));
  }
  return out;
}

}  // namespace

bool Authorized::Allowed(AclOperation op, ResourceType type, std::string_view name) const {
  return access_ == nullptr || access_->Allowed(session_, op, type, name);
}

bool Authorized::AllowedCluster(AclOperation op) const {
  return access_ == nullptr || access_->AllowedCluster(session_, op);
}

// ---------------------------------------------------------------- handlers

namespace {

// Takes out of `topics` (ProduceTopic, FetchTopic, ...) each topic `allowed`
// refuses, and answers it: every partition asked for with `error`.
template <typename Result, typename Topic, typename Allowed>
std::vector<Result> TakeRefused(std::vector<Topic>& topics, Allowed allowed, ErrorCode error,
                                const std::string& message) {
  std::vector<Result> refused;
  std::vector<Topic> kept;
  for (Topic& t : topics) {
    if (allowed(t.topic)) {
      kept.push_back(std::move(t));
      continue;
    }
    Result& r = refused.emplace_back();
    r.topic = t.topic;
    for (const auto& p : t.partitions) {
      auto& pr = r.partitions.emplace_back();
      pr.partition = p.partition;
      pr.error = error;
      pr.message = message.empty() ? TopicMessage(t.topic) : message;
    }
  }
  topics = std::move(kept);
  return refused;
}

// Calls `call` with what is left of `request`, and `done` with its answer
// followed by the `refused` topics; answers at once when nothing is left.
template <typename Response, typename Request, typename Result, typename Call>
void CallWithRefused(Request request, std::vector<Result> refused,
                     std::function<void(Response)> done, Call call) {
  if (refused.empty()) return call(std::move(request), std::move(done));
  if (request.topics.empty()) {
    Response r;
    r.topics = std::move(refused);
    done(std::move(r));
    return;
  }
  call(std::move(request),
       [refused = std::move(refused), done = std::move(done)](Response r) mutable {
         for (Result& t : refused) r.topics.push_back(std::move(t));
         done(std::move(r));
       });
}

}  // namespace

void Authorized::Produce(RequestHandlers& h, ProduceRequest request,
                         std::function<void(ProduceResponse)> done) const {
  if (!enabled()) return h.Produce(std::move(request), std::move(done));
  std::vector<ProduceTopicResult> refused = TakeRefused<ProduceTopicResult>(
      request.topics,
      [&](const std::string& t) { return Allowed(AclOperation::kWrite, ResourceType::kTopic, t); },
      kTopicDenied, "");
  CallWithRefused<ProduceResponse>(std::move(request), std::move(refused), std::move(done),
                                   [&h](ProduceRequest r, std::function<void(ProduceResponse)> d) {
                                     h.Produce(std::move(r), std::move(d));
                                   });
}

void Authorized::Fetch(RequestHandlers& h, FetchRequest request,
                       std::function<void(FetchResponse)> done) const {
  if (!enabled()) return h.Fetch(std::move(request), std::move(done));
  // A follower's fetch is the cluster's own business (ClusterAction);
  // a consumer reads what it may read.
  const bool follower = request.from_follower || request.replica_id >= 0;
  std::vector<FetchTopicResult> refused;
  if (follower && !AllowedCluster(AclOperation::kClusterAction)) {
    refused = TakeRefused<FetchTopicResult>(
        request.topics, [](const std::string&) { return false; }, kClusterDenied, kClusterMessage);
  } else if (!follower) {
    refused = TakeRefused<FetchTopicResult>(
        request.topics,
        [&](const std::string& t) { return Allowed(AclOperation::kRead, ResourceType::kTopic, t); },
        kTopicDenied, "");
  }
  CallWithRefused<FetchResponse>(std::move(request), std::move(refused), std::move(done),
                                 [&h](FetchRequest r, std::function<void(FetchResponse)> d) {
                                   h.Fetch(std::move(r), std::move(d));
                                 });
}

ListOffsetsResponse Authorized::ListOffsets(RequestHandlers& h, ListOffsetsRequest request) const {
  if (!enabled()) return h.ListOffsets(request);
  std::vector<ListOffsetsTopicResult> refused = TakeRefused<ListOffsetsTopicResult>(
      request.topics,
      [&](const std::string& t) {
        return Allowed(AclOperation::kDescribe, ResourceType::kTopic, t);
      },
      kTopicDenied, "");
  ListOffsetsResponse out;
  if (!request.topics.empty()) out = h.ListOffsets(request);
  for (ListOffsetsTopicResult& t : refused) out.topics.push_back(std::move(t));
  return out;
}

std::vector<EpochEndResult> Authorized::OffsetForLeaderEpoch(
    RequestHandlers& h, std::vector<EpochRequestPartition> partitions) const {
  if (!enabled()) return h.OffsetForLeaderEpoch(partitions);
  std::vector<bool> kept;
  std::vector<EpochRequestPartition> allowed = Partition(
      partitions,
      [&](const EpochRequestPartition& p) {
        return Allowed(AclOperation::kDescribe, ResourceType::kTopic, p.topic);
      },
      &kept);
  std::vector<EpochEndResult> answered;
  if (!allowed.empty()) answered = h.OffsetForLeaderEpoch(allowed);
  return Merge(kept, std::move(answered), [&](size_t i) {
    EpochEndResult r;
    r.topic = partitions[i].topic;
    r.partition = partitions[i].partition;
    r.error = kTopicDenied;
    r.message = TopicMessage(partitions[i].topic);
    return r;
  });
}

MetadataResponse Authorized::Metadata(RequestHandlers& h, MetadataRequest request,
                                      const std::string& listener) const {
  if (!enabled()) return h.Metadata(request, listener);
  auto describable = [&](const std::string& topic) {
    return Allowed(AclOperation::kDescribe, ResourceType::kTopic, topic);
  };
  if (!request.topics.has_value()) {
    // Every topic: those the session may describe.
    MetadataResponse out = h.Metadata(request, listener);
    std::erase_if(out.topics, [&](const TopicMetadata& t) { return !describable(t.name); });
    return out;
  }
  // Named topics: the ones it may not describe are refused whether or not
  // they exist; auto-creation only for those it may create.
  const bool create_cluster = AllowedCluster(AclOperation::kCreate);
  std::vector<std::string> creatable, plain;
  std::vector<std::string> denied;
  for (const std::string& name : *request.topics) {
    if (!describable(name)) {
      denied.push_back(name);
    } else if (request.allow_auto_topic_creation &&
               (create_cluster || Allowed(AclOperation::kCreate, ResourceType::kTopic, name))) {
      creatable.push_back(name);
    } else {
      plain.push_back(name);
    }
  }
  MetadataResponse out;
  bool asked = false;
  for (auto* names : {&creatable, &plain}) {
    if (names->empty()) continue;
    MetadataRequest part{.topics = *names, .allow_auto_topic_creation = names == &creatable};
    MetadataResponse r = h.Metadata(part, listener);
    if (!asked) {
      out = std::move(r);
      asked = true;
    } else {
      for (TopicMetadata& t : r.topics) out.topics.push_back(std::move(t));
    }
  }
  if (!asked) {
    out = h.Metadata(MetadataRequest{.topics = std::vector<std::string>{}}, listener);
  }
  // A topic it may describe but not create, which does not exist, when
  // creation was asked for: Kafka's TOPIC_AUTHORIZATION_FAILED.
  if (request.allow_auto_topic_creation) {
    for (TopicMetadata& t : out.topics) {
      if (t.error == ErrorCode::kUnknownTopicOrPartition &&
          std::find(plain.begin(), plain.end(), t.name) != plain.end() &&
          !metadata::Controller::IsInternalTopic(t.name)) {
        t.error = kTopicDenied;
        t.message = TopicMessage(t.name);
      }
    }
  }
  for (const std::string& name : denied) {
    TopicMetadata t;
    t.name = name;
    t.error = kTopicDenied;
    t.message = TopicMessage(name);
    out.topics.push_back(std::move(t));
  }
  return out;
}

std::vector<CoordinatorResult> Authorized::FindCoordinator(RequestHandlers& h,
                                                           const FindCoordinatorRequest& request,
                                                           const std::string& listener) const {
  if (!enabled()) return h.FindCoordinator(request, listener);
  const bool txn = request.key_type == 1;
  const ResourceType type = txn ? ResourceType::kTransactionalId : ResourceType::kGroup;
  FindCoordinatorRequest allowed;
  allowed.key_type = request.key_type;
  std::vector<bool> kept(request.keys.size(), false);
  for (size_t i = 0; i < request.keys.size(); ++i) {
    if (request.key_type > 1 || Allowed(AclOperation::kDescribe, type, request.keys[i])) {
      kept[i] = true;
      allowed.keys.push_back(request.keys[i]);
    }
  }
  std::vector<CoordinatorResult> answered;
  if (!allowed.keys.empty()) answered = h.FindCoordinator(allowed, listener);
  return Merge(kept, std::move(answered), [&](size_t i) {
    CoordinatorResult r;
    r.key = request.keys[i];
    r.error = txn ? kTxnIdDenied : kGroupDenied;
    r.message = txn ? std::string(kTxnIdMessage) : GroupMessage(request.keys[i]);
    return r;
  });
}

void Authorized::InitProducerId(RequestHandlers& h, const InitProducerIdRequest& request,
                                std::function<void(InitProducerIdResponse)> done) const {
  if (enabled()) {
    InitProducerIdResponse refused;
    if (request.transactional_id.has_value()) {
      if (!Allowed(AclOperation::kWrite, ResourceType::kTransactionalId,
                   *request.transactional_id)) {
        refused.error = kTxnIdDenied;
        refused.message = kTxnIdMessage;
      }
    } else if (!AllowedCluster(AclOperation::kIdempotentWrite) &&
               !access_->AllowedAny(session_, AclOperation::kWrite, ResourceType::kTopic)) {
      // Kafka 3.x: IdempotentWrite on the cluster, or Write on some topic.
      refused.error = kClusterDenied;
      refused.message = kClusterMessage;
    }
    if (refused.error != ErrorCode::kNone) {
      done(std::move(refused));
      return;
    }
  }
  h.InitProducerId(request, std::move(done));
}

void Authorized::WriteTxnMarkers(RequestHandlers& h, WriteTxnMarkersRequest request,
                                 std::function<void(WriteTxnMarkersResponse)> done) const {
  if (AllowedCluster(AclOperation::kClusterAction)) {
    return h.WriteTxnMarkers(std::move(request), std::move(done));
  }
  WriteTxnMarkersResponse refused;
  for (const TxnMarkerEntry& m : request.markers) {
    std::vector<TxnMarkerResult>& results = refused.markers.emplace_back();
    for (const TxnMarkerPartition& p : m.partitions) {
      results.push_back({.topic = p.topic,
                         .partition = p.partition,
                         .error = kClusterDenied,
                         .message = kClusterMessage});
    }
  }
  done(std::move(refused));
}

std::vector<replication::ProducersResult> Authorized::DescribeProducers(
    RequestHandlers& h, const std::vector<std::pair<std::string, int32_t>>& partitions) const {
  if (!enabled()) return h.DescribeProducers(partitions);
  std::vector<std::pair<std::string, int32_t>> copy = partitions;
  std::vector<bool> kept;
  std::vector<std::pair<std::string, int32_t>> allowed = Partition(
      copy,
      [&](const auto& p) { return Allowed(AclOperation::kRead, ResourceType::kTopic, p.first); },
      &kept);
  std::vector<replication::ProducersResult> answered;
  if (!allowed.empty()) answered = h.DescribeProducers(allowed);
  return Merge(kept, std::move(answered), [&](size_t i) {
    replication::ProducersResult r;
    r.error = kTopicDenied;
    r.message = TopicMessage(partitions[i].first);
    return r;
  });
}

void Authorized::DeleteRecords(RequestHandlers& h, DeleteRecordsRequest request,
                               std::function<void(DeleteRecordsResponse)> done) const {
  if (!enabled()) return h.DeleteRecords(std::move(request), std::move(done));
  std::vector<DeleteRecordsTopicResult> refused = TakeRefused<DeleteRecordsTopicResult>(
      request.topics,
      [&](const std::string& t) { return Allowed(AclOperation::kDelete, ResourceType::kTopic, t); },
      kTopicDenied, "");
  CallWithRefused<DeleteRecordsResponse>(
      std::move(request), std::move(refused), std::move(done),
      [&h](DeleteRecordsRequest r, std::function<void(DeleteRecordsResponse)> d) {
        h.DeleteRecords(std::move(r), std::move(d));
      });
}

std::vector<std::string> Authorized::ListTopics(RequestHandlers& h, bool include_internal) const {
  std::vector<std::string> names = h.ListTopics(include_internal);
  if (enabled()) {
    std::erase_if(names, [&](const std::string& name) {
      return !Allowed(AclOperation::kDescribe, ResourceType::kTopic, name);
    });
  }
  return names;
}

std::vector<TopicDescription> Authorized::DescribeTopics(RequestHandlers& h,
                                                         DescribeTopicsRequest request) const {
  if (!enabled()) return h.DescribeTopics(request);
  auto describable = [&](const std::string& name) {
    return Allowed(AclOperation::kDescribe, ResourceType::kTopic, name);
  };
  if (request.names.empty()) {
    std::vector<TopicDescription> all = h.DescribeTopics(request);
    std::erase_if(all, [&](const TopicDescription& t) { return !describable(t.name); });
    return all;
  }
  std::vector<std::string> names = request.names;
  std::vector<bool> kept;
  request.names = Partition(names, describable, &kept);
  std::vector<TopicDescription> answered;
  if (!request.names.empty()) answered = h.DescribeTopics(request);
  return Merge(kept, std::move(answered), [&](size_t i) {
    TopicDescription t;
    t.name = names[i];
    t.error = kTopicDenied;
    t.message = TopicMessage(names[i]);
    return t;
  });
}

DescribeLogDirsResponse Authorized::DescribeLogDirs(RequestHandlers& h,
                                                    const DescribeLogDirsRequest& request) const {
  if (AllowedCluster(AclOperation::kDescribe)) return h.DescribeLogDirs(request);
  DescribeLogDirsResponse refused;
  refused.error = kClusterDenied;
  refused.message = kClusterMessage;
  return refused;
}

// ---------------------------------------------------------------- groups

namespace {

template <typename Response>
Response GroupRefusal(const std::string& group) {
  Response r;
  r.error = kGroupDenied;
  r.message = GroupMessage(group);
  return r;
}

}  // namespace

void Authorized::JoinGroup(group::GroupCoordinator& g, group::JoinGroupRequest request,
                           std::function<void(group::JoinGroupResponse)> done) const {
  if (!Allowed(AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
    group::JoinGroupResponse r = GroupRefusal<group::JoinGroupResponse>(request.group_id);
    r.member_id = request.member_id;
    done(std::move(r));
    return;
  }
  g.JoinGroup(std::move(request), std::move(done));
}

void Authorized::SyncGroup(group::GroupCoordinator& g, group::SyncGroupRequest request,
                           std::function<void(group::SyncGroupResponse)> done) const {
  if (!Allowed(AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
    done(GroupRefusal<group::SyncGroupResponse>(request.group_id));
    return;
  }
  g.SyncGroup(std::move(request), std::move(done));
}

group::GroupResult Authorized::Heartbeat(group::GroupCoordinator& g,
                                         const group::HeartbeatRequest& request) const {
  if (!Allowed(AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
    return GroupRefusal<group::GroupResult>(request.group_id);
  }
  return g.Heartbeat(request);
}

void Authorized::LeaveGroup(group::GroupCoordinator& g, group::LeaveGroupRequest request,
                            std::function<void(group::LeaveGroupResponse)> done) const {
  if (!Allowed(AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
    group::LeaveGroupResponse r;
    r.result = GroupRefusal<group::GroupResult>(request.group_id);
    done(std::move(r));
    return;
  }
  g.LeaveGroup(std::move(request), std::move(done));
}

namespace {

// An offset commit's partitions the session may not read, answered
// TOPIC_AUTHORIZATION_FAILED in request order around the callee's answer.
struct CommitSplit {
  std::vector<bool> kept;
  std::vector<group::GroupTopicPartition> all;

  std::function<void(group::OffsetCommitResponse)> Wrap(
      std::function<void(group::OffsetCommitResponse)> done) && {
    return [split = std::move(*this), done = std::move(done)](group::OffsetCommitResponse r) {
      group::OffsetCommitResponse out;
      out.partitions = Merge(split.kept, std::move(r.partitions), [&](size_t i) {
        return group::PartitionResult{
            .tp = split.all[i],
            .result = {.error = kTopicDenied, .message = TopicMessage(split.all[i].topic)}};
      });
      done(std::move(out));
    };
  }
};

group::OffsetCommitResponse AllRefused(const std::vector<group::CommittedOffset>& offsets,
                                       ErrorCode error, const std::string& message) {
  group::OffsetCommitResponse r;
  for (const group::CommittedOffset& o : offsets) {
    r.partitions.push_back({.tp = o.tp, .result = {.error = error, .message = message}});
  }
  return r;
}

}  // namespace

void Authorized::OffsetCommit(group::GroupCoordinator& g, group::OffsetCommitRequest request,
                              std::function<void(group::OffsetCommitResponse)> done) const {
  if (!enabled()) return g.OffsetCommit(std::move(request), std::move(done));
  if (!Allowed(AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
    done(AllRefused(request.offsets, kGroupDenied, GroupMessage(request.group_id)));
    return;
  }
  CommitSplit split;
  for (const group::CommittedOffset& o : request.offsets) split.all.push_back(o.tp);
  request.offsets = Partition(
      request.offsets,
      [&](const group::CommittedOffset& o) {
        return Allowed(AclOperation::kRead, ResourceType::kTopic, o.tp.topic);
      },
      &split.kept);
  if (request.offsets.empty()) {
    std::move(split).Wrap(std::move(done))(group::OffsetCommitResponse{});
    return;
  }
  g.OffsetCommit(std::move(request), std::move(split).Wrap(std::move(done)));
}

void Authorized::TxnOffsetCommit(group::GroupCoordinator& g, group::TxnOffsetCommitRequest request,
                                 std::function<void(group::OffsetCommitResponse)> done) const {
  if (!enabled()) return g.TxnOffsetCommit(std::move(request), std::move(done));
  if (!Allowed(AclOperation::kWrite, ResourceType::kTransactionalId, request.transactional_id)) {
    done(AllRefused(request.offsets, kTxnIdDenied, kTxnIdMessage));
    return;
  }
  if (!Allowed(AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
    done(AllRefused(request.offsets, kGroupDenied, GroupMessage(request.group_id)));
    return;
  }
  CommitSplit split;
  for (const group::CommittedOffset& o : request.offsets) split.all.push_back(o.tp);
  request.offsets = Partition(
      request.offsets,
      [&](const group::CommittedOffset& o) {
        return Allowed(AclOperation::kRead, ResourceType::kTopic, o.tp.topic);
      },
      &split.kept);
  if (request.offsets.empty()) {
    std::move(split).Wrap(std::move(done))(group::OffsetCommitResponse{});
    return;
  }
  g.TxnOffsetCommit(std::move(request), std::move(split).Wrap(std::move(done)));
}

group::OffsetFetchResponse Authorized::OffsetFetch(group::GroupCoordinator& g,
                                                   group::OffsetFetchRequest request) const {
  if (!enabled()) return g.OffsetFetch(request);
  if (!Allowed(AclOperation::kDescribe, ResourceType::kGroup, request.group_id)) {
    group::OffsetFetchResponse r;
    r.result = GroupRefusal<group::GroupResult>(request.group_id);
    return r;
  }
  auto describable = [&](const std::string& topic) {
    return Allowed(AclOperation::kDescribe, ResourceType::kTopic, topic);
  };
  if (!request.partitions.has_value()) {
    group::OffsetFetchResponse r = g.OffsetFetch(request);
    std::erase_if(r.offsets,
                  [&](const group::FetchedOffset& o) { return !describable(o.tp.topic); });
    return r;
  }
  std::vector<group::GroupTopicPartition> refused;
  std::vector<group::GroupTopicPartition> allowed;
  for (group::GroupTopicPartition& tp : *request.partitions) {
    (describable(tp.topic) ? allowed : refused).push_back(std::move(tp));
  }
  group::OffsetFetchResponse r;
  if (!allowed.empty() || refused.empty()) {
    request.partitions = std::move(allowed);
    r = g.OffsetFetch(request);
  }
  for (group::GroupTopicPartition& tp : refused) {
    group::FetchedOffset o;
    o.tp = std::move(tp);
    o.error = kTopicDenied;
    r.offsets.push_back(std::move(o));
  }
  std::sort(
      r.offsets.begin(), r.offsets.end(),
      [](const group::FetchedOffset& a, const group::FetchedOffset& b) { return a.tp < b.tp; });
  return r;
}

std::vector<group::GroupDescription> Authorized::DescribeGroups(
    group::GroupCoordinator& g, const std::vector<std::string>& group_ids) const {
  if (!enabled()) return g.DescribeGroups(group_ids);
  std::vector<std::string> ids = group_ids;
  std::vector<bool> kept;
  std::vector<std::string> allowed = Partition(
      ids,
      [&](const std::string& id) {
        return Allowed(AclOperation::kDescribe, ResourceType::kGroup, id);
      },
      &kept);
  std::vector<group::GroupDescription> answered;
  if (!allowed.empty()) answered = g.DescribeGroups(allowed);
  return Merge(kept, std::move(answered), [&](size_t i) {
    group::GroupDescription d;
    d.group_id = group_ids[i];
    d.result = GroupRefusal<group::GroupResult>(group_ids[i]);
    return d;
  });
}

group::ListGroupsResponse Authorized::ListGroups(group::GroupCoordinator& g,
                                                 const std::vector<std::string>& states) const {
  group::ListGroupsResponse r = g.ListGroups(states);
  if (enabled() && !AllowedCluster(AclOperation::kDescribe)) {
    std::erase_if(r.groups, [&](const group::ListedGroup& l) {
      return !Allowed(AclOperation::kDescribe, ResourceType::kGroup, l.group_id);
    });
  }
  return r;
}

void Authorized::DeleteGroups(group::GroupCoordinator& g, std::vector<std::string> group_ids,
                              std::function<void(std::vector<group::DeletedGroup>)> done) const {
  if (!enabled()) return g.DeleteGroups(std::move(group_ids), std::move(done));
  std::vector<std::string> all = group_ids;
  std::vector<bool> kept;
  std::vector<std::string> allowed = Partition(
      group_ids,
      [&](const std::string& id) {
        return Allowed(AclOperation::kDelete, ResourceType::kGroup, id);
      },
      &kept);
  auto finish = [all = std::move(all), kept,
                 done = std::move(done)](std::vector<group::DeletedGroup> answered) {
    done(Merge(kept, std::move(answered), [&](size_t i) {
      return group::DeletedGroup{.group_id = all[i],
                                 .result = GroupRefusal<group::GroupResult>(all[i])};
    }));
  };
  if (allowed.empty()) {
    finish({});
    return;
  }
  g.DeleteGroups(std::move(allowed), std::move(finish));
}

void Authorized::OffsetDelete(group::GroupCoordinator& g, group::OffsetDeleteRequest request,
                              std::function<void(group::OffsetDeleteResponse)> done) const {
  if (!enabled()) return g.OffsetDelete(std::move(request), std::move(done));
  if (!Allowed(AclOperation::kDelete, ResourceType::kGroup, request.group_id)) {
    group::OffsetDeleteResponse r;
    r.result = GroupRefusal<group::GroupResult>(request.group_id);
    done(std::move(r));
    return;
  }
  std::vector<group::GroupTopicPartition> all = request.partitions;
  std::vector<bool> kept;
  request.partitions = Partition(
      request.partitions,
      [&](const group::GroupTopicPartition& tp) {
        return Allowed(AclOperation::kRead, ResourceType::kTopic, tp.topic);
      },
      &kept);
  auto finish = [all = std::move(all), kept,
                 done = std::move(done)](group::OffsetDeleteResponse r) {
    r.partitions = Merge(kept, std::move(r.partitions), [&](size_t i) {
      return group::PartitionResult{
          .tp = all[i], .result = {.error = kTopicDenied, .message = TopicMessage(all[i].topic)}};
    });
    done(std::move(r));
  };
  if (request.partitions.empty()) {
    finish(group::OffsetDeleteResponse{});
    return;
  }
  g.OffsetDelete(std::move(request), std::move(finish));
}

// ---------------------------------------------------------------- transactions

void Authorized::AddPartitionsToTxn(
    txn::TransactionCoordinator& t, txn::AddPartitionsToTxnRequest request,
    std::function<void(txn::AddPartitionsToTxnResponse)> done) const {
  if (!enabled()) return t.AddPartitionsToTxn(std::move(request), std::move(done));
  txn::AddPartitionsToTxnResponse refused;
  if (!Allowed(AclOperation::kWrite, ResourceType::kTransactionalId, request.transactional_id)) {
    for (const txn::TxnTopicPartition& p : request.partitions) {
      refused.results.emplace_back(p, kTxnIdDenied);
    }
    refused.message = kTxnIdMessage;
    done(std::move(refused));
    return;
  }
  // Kafka: any partition it may not write refuses the request, the others
  // answered OPERATION_NOT_ATTEMPTED; nothing is added.
  bool any_denied = false;
  for (const txn::TxnTopicPartition& p : request.partitions) {
    const bool ok = Allowed(AclOperation::kWrite, ResourceType::kTopic, p.topic);
    any_denied |= !ok;
    refused.results.emplace_back(p, ok ? ErrorCode::kOperationNotAttempted : kTopicDenied);
  }
  if (any_denied) {
    refused.message = "Not authorized to write to some of the partitions";
    done(std::move(refused));
    return;
  }
  t.AddPartitionsToTxn(std::move(request), std::move(done));
}

void Authorized::AddOffsetsToTxn(txn::TransactionCoordinator& t,
                                 txn::AddOffsetsToTxnRequest request,
                                 std::function<void(txn::TxnResult)> done) const {
  if (!Allowed(AclOperation::kWrite, ResourceType::kTransactionalId, request.transactional_id)) {
    done({.error = kTxnIdDenied, .message = kTxnIdMessage});
    return;
  }
  if (!Allowed(AclOperation::kRead, ResourceType::kGroup, request.group_id)) {
    done({.error = kGroupDenied, .message = GroupMessage(request.group_id)});
    return;
  }
  t.AddOffsetsToTxn(std::move(request), std::move(done));
}

void Authorized::EndTxn(txn::TransactionCoordinator& t, txn::EndTxnRequest request,
                        std::function<void(txn::TxnResult)> done) const {
  if (!Allowed(AclOperation::kWrite, ResourceType::kTransactionalId, request.transactional_id)) {
    done({.error = kTxnIdDenied, .message = kTxnIdMessage});
    return;
  }
  t.EndTxn(std::move(request), std::move(done));
}

std::vector<txn::TransactionDescription> Authorized::DescribeTransactions(
    txn::TransactionCoordinator& t, const std::vector<std::string>& transactional_ids) const {
  if (!enabled()) return t.DescribeTransactions(transactional_ids);
  std::vector<std::string> ids = transactional_ids;
  std::vector<bool> kept;
  std::vector<std::string> allowed = Partition(
      ids,
      [&](const std::string& id) {
        return Allowed(AclOperation::kDescribe, ResourceType::kTransactionalId, id);
      },
      &kept);
  std::vector<txn::TransactionDescription> answered;
  if (!allowed.empty()) answered = t.DescribeTransactions(allowed);
  return Merge(kept, std::move(answered), [&](size_t i) {
    txn::TransactionDescription d;
    d.transactional_id = transactional_ids[i];
    d.result = {.error = kTxnIdDenied, .message = kTxnIdMessage};
    return d;
  });
}

txn::ListTransactionsResponse Authorized::ListTransactions(
    txn::TransactionCoordinator& t, const txn::ListTransactionsRequest& request) const {
  txn::ListTransactionsResponse r = t.ListTransactions(request);
  if (enabled()) {
    std::erase_if(r.transactions, [&](const txn::ListedTransaction& l) {
      return !Allowed(AclOperation::kDescribe, ResourceType::kTransactionalId, l.transactional_id);
    });
  }
  return r;
}

// ---------------------------------------------------------------- admin

namespace {

metadata::TopicResult TopicRefusal(const std::string& name) {
  metadata::TopicResult r;
  r.name = name;
  r.error = kTopicDenied;
  r.error_message = TopicMessage(name);
  return r;
}

// Per-topic admin writes: `allowed(name)` keeps a topic; the refused ones
// answered TOPIC_AUTHORIZATION_FAILED in request order.
template <typename Request, typename Response, typename Item, typename Name, typename Call>
void TopicAdmin(const Authorized& authz, Request request, std::vector<Item> Request::*items,
                Name name_of, security::AclOperation op, bool cluster_suffices,
                std::function<void(Response)> done, Call call) {
  if (!authz.enabled()) return call(std::move(request), std::move(done));
  const bool cluster = cluster_suffices && authz.AllowedCluster(op);
  std::vector<std::string> names;
  for (const Item& item : request.*items) names.push_back(name_of(item));
  std::vector<bool> kept;
  request.*items = Partition(
      request.*items,
      [&](const Item& item) {
        return cluster || authz.Allowed(op, ResourceType::kTopic, name_of(item));
      },
      &kept);
  auto finish = [names = std::move(names), kept, done = std::move(done)](Response r) {
    r.results = Merge(kept, std::move(r.results), [&](size_t i) { return TopicRefusal(names[i]); });
    done(std::move(r));
  };
  if ((request.*items).empty()) {
    finish(Response{});
    return;
  }
  call(std::move(request), std::move(finish));
}

template <typename Response>
Response ClusterRefusal() {
  Response r;
  r.error = kClusterDenied;
  r.error_message = kClusterMessage;
  return r;
}

// A write on the cluster as a whole: refused whole without `op` on it.
template <typename Request, typename Response, typename Call>
void ClusterWrite(const Authorized& authz, AclOperation op, Request request,
                  std::function<void(Response)> done, Call call) {
  if (!authz.AllowedCluster(op)) {
    done(ClusterRefusal<Response>());
    return;
  }
  call(std::move(request), std::move(done));
}

// A read of the cluster's own state (ACLs, credentials, quotas).
template <typename Response, typename Call>
Response ClusterRead(const Authorized& authz, AclOperation op, Call call) {
  return authz.AllowedCluster(op) ? call() : ClusterRefusal<Response>();
}

}  // namespace

void Authorized::Admin::CreateTopics(metadata::CreateTopicsRequest request,
                                     std::function<void(metadata::CreateTopicsResponse)> done) {
  TopicAdmin<metadata::CreateTopicsRequest, metadata::CreateTopicsResponse, metadata::NewTopic>(
      authz_, std::move(request), &metadata::CreateTopicsRequest::topics,
      [](const metadata::NewTopic& t) { return t.name; }, AclOperation::kCreate, true,
      std::move(done),
      [this](auto r, auto d) { inner_->CreateTopics(std::move(r), std::move(d)); });
}

void Authorized::Admin::AutoCreateTopics(metadata::CreateTopicsRequest request,
                                         std::function<void(metadata::CreateTopicsResponse)> done) {
  inner_->AutoCreateTopics(std::move(request), std::move(done));
}

void Authorized::Admin::CreateInternalTopics(
    metadata::CreateTopicsRequest request,
    std::function<void(metadata::CreateTopicsResponse)> done) {
  inner_->CreateInternalTopics(std::move(request), std::move(done));
}

void Authorized::Admin::DeleteTopics(metadata::DeleteTopicsRequest request,
                                     std::function<void(metadata::DeleteTopicsResponse)> done) {
  TopicAdmin<metadata::DeleteTopicsRequest, metadata::DeleteTopicsResponse, std::string>(
      authz_, std::move(request), &metadata::DeleteTopicsRequest::names,
      [](const std::string& n) { return n; }, AclOperation::kDelete, false, std::move(done),
      [this](auto r, auto d) { inner_->DeleteTopics(std::move(r), std::move(d)); });
}

void Authorized::Admin::CreatePartitions(
    metadata::CreatePartitionsRequest request,
    std::function<void(metadata::CreatePartitionsResponse)> done) {
  TopicAdmin<metadata::CreatePartitionsRequest, metadata::CreatePartitionsResponse,
             metadata::CreatePartitionsTopic>(
      authz_, std::move(request), &metadata::CreatePartitionsRequest::topics,
      [](const metadata::CreatePartitionsTopic& t) { return t.name; }, AclOperation::kAlter, false,
      std::move(done),
      [this](auto r, auto d) { inner_->CreatePartitions(std::move(r), std::move(d)); });
}

void Authorized::Admin::ElectLeaders(metadata::ElectLeadersRequest request,
                                     std::function<void(metadata::ElectLeadersResponse)> done) {
  ClusterWrite(authz_, AclOperation::kAlter, std::move(request), std::move(done),
               [this](auto r, auto d) { inner_->ElectLeaders(std::move(r), std::move(d)); });
}

void Authorized::Admin::AlterPartitionReassignments(
    metadata::AlterPartitionReassignmentsRequest request,
    std::function<void(metadata::AlterPartitionReassignmentsResponse)> done) {
  ClusterWrite(
      authz_, AclOperation::kAlter, std::move(request), std::move(done),
      [this](auto r, auto d) { inner_->AlterPartitionReassignments(std::move(r), std::move(d)); });
}

void Authorized::Admin::ListPartitionReassignments(
    ListPartitionReassignmentsRequest request,
    std::function<void(ListPartitionReassignmentsResponse)> done) {
  if (!authz_.AllowedCluster(AclOperation::kDescribe)) {
    ListPartitionReassignmentsResponse r;
    r.error = kClusterDenied;
    r.message = kClusterMessage;
    done(std::move(r));
    return;
  }
  inner_->ListPartitionReassignments(std::move(request), std::move(done));
}

void Authorized::Admin::UnregisterBroker(
    metadata::UnregisterBrokerRequest request,
    std::function<void(metadata::UnregisterBrokerResponse)> done) {
  ClusterWrite(authz_, AclOperation::kAlter, std::move(request), std::move(done),
               [this](auto r, auto d) { inner_->UnregisterBroker(std::move(r), std::move(d)); });
}

namespace {

// Per-resource config calls: a topic needs `op` on the topic, a broker (or
// the cluster default) `op` on the cluster.
template <typename Resource>
bool ConfigAllowed(const Authorized& authz, AclOperation op, const Resource& r) {
  if (r.type == metadata::ConfigResourceType::kTopic) {
    return authz.Allowed(op, ResourceType::kTopic, r.name);
  }
  if (r.type == metadata::ConfigResourceType::kBroker) return authz.AllowedCluster(op);
  return true;  // the callee refuses an unknown type itself
}

template <typename Resource>
std::pair<ErrorCode, std::string> ConfigRefusal(const Resource& r) {
  if (r.type == metadata::ConfigResourceType::kTopic) return {kTopicDenied, TopicMessage(r.name)};
  return {kClusterDenied, kClusterMessage};
}

void AlterConfigsChecked(
    const Authorized& authz, metadata::IncrementalAlterConfigsRequest request,
    std::function<void(metadata::IncrementalAlterConfigsResponse)> done,
    const std::function<void(metadata::IncrementalAlterConfigsRequest,
                             std::function<void(metadata::IncrementalAlterConfigsResponse)>)>&
        call) {
  if (!authz.enabled()) return call(std::move(request), std::move(done));
  std::vector<metadata::AlterConfigsResource> all = request.resources;
  std::vector<bool> kept;
  request.resources = Partition(
      request.resources,
      [&](const metadata::AlterConfigsResource& r) {
        return ConfigAllowed(authz, AclOperation::kAlterConfigs, r);
      },
      &kept);
  auto finish = [all = std::move(all), kept,
                 done = std::move(done)](metadata::IncrementalAlterConfigsResponse r) {
    r.results = Merge(kept, std::move(r.results), [&](size_t i) {
      auto [error, message] = ConfigRefusal(all[i]);
      return metadata::AlterConfigsResult{
          .type = all[i].type, .name = all[i].name, .error = error, .error_message = message};
    });
    done(std::move(r));
  };
  if (request.resources.empty()) {
    finish(metadata::IncrementalAlterConfigsResponse{});
    return;
  }
  call(std::move(request), std::move(finish));
}

}  // namespace

void Authorized::Admin::IncrementalAlterConfigs(
    metadata::IncrementalAlterConfigsRequest request,
    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) {
  AlterConfigsChecked(authz_, std::move(request), std::move(done), [this](auto r, auto d) {
    inner_->IncrementalAlterConfigs(std::move(r), std::move(d));
  });
}

void Authorized::Admin::AlterConfigs(
    metadata::IncrementalAlterConfigsRequest request,
    std::function<void(metadata::IncrementalAlterConfigsResponse)> done) {
  AlterConfigsChecked(authz_, std::move(request), std::move(done),
                      [this](auto r, auto d) { inner_->AlterConfigs(std::move(r), std::move(d)); });
}

void Authorized::Admin::DescribeConfigs(DescribeConfigsRequest request,
                                        std::function<void(DescribeConfigsResponse)> done) {
  if (!authz_.enabled()) return inner_->DescribeConfigs(std::move(request), std::move(done));
  std::vector<DescribeConfigsResource> all = request.resources;
  std::vector<bool> kept;
  request.resources = Partition(
      request.resources,
      [&](const DescribeConfigsResource& r) {
        return ConfigAllowed(authz_, AclOperation::kDescribeConfigs, r);
      },
      &kept);
  auto finish = [all = std::move(all), kept, done = std::move(done)](DescribeConfigsResponse r) {
    r.results = Merge(kept, std::move(r.results), [&](size_t i) {
      auto [error, message] = ConfigRefusal(all[i]);
      DescribeConfigsResult out;
      out.error = error;
      out.message = message;
      out.type = all[i].type;
      out.name = all[i].name;
      return out;
    });
    done(std::move(r));
  };
  if (request.resources.empty()) {
    finish(DescribeConfigsResponse{});
    return;
  }
  inner_->DescribeConfigs(std::move(request), std::move(finish));
}

void Authorized::Admin::CreateAcls(metadata::CreateAclsRequest request,
                                   std::function<void(metadata::CreateAclsResponse)> done) {
  ClusterWrite(authz_, AclOperation::kAlter, std::move(request), std::move(done),
               [this](auto r, auto d) { inner_->CreateAcls(std::move(r), std::move(d)); });
}

void Authorized::Admin::DeleteAcls(metadata::DeleteAclsRequest request,
                                   std::function<void(metadata::DeleteAclsResponse)> done) {
  ClusterWrite(authz_, AclOperation::kAlter, std::move(request), std::move(done),
               [this](auto r, auto d) { inner_->DeleteAcls(std::move(r), std::move(d)); });
}

void Authorized::Admin::AlterUserScramCredentials(
    metadata::AlterUserScramCredentialsRequest request,
    std::function<void(metadata::AlterUserScramCredentialsResponse)> done) {
  ClusterWrite(
      authz_, AclOperation::kAlter, std::move(request), std::move(done),
      [this](auto r, auto d) { inner_->AlterUserScramCredentials(std::move(r), std::move(d)); });
}

void Authorized::Admin::AlterClientQuotas(
    metadata::AlterClientQuotasRequest request,
    std::function<void(metadata::AlterClientQuotasResponse)> done) {
  ClusterWrite(authz_, AclOperation::kAlterConfigs, std::move(request), std::move(done),
               [this](auto r, auto d) { inner_->AlterClientQuotas(std::move(r), std::move(d)); });
}

metadata::DescribeAclsResponse Authorized::Admin::DescribeAcls(
    const metadata::DescribeAclsRequest& request) {
  return ClusterRead<metadata::DescribeAclsResponse>(authz_, AclOperation::kDescribe,
                                                     [&] { return inner_->DescribeAcls(request); });
}

metadata::DescribeUserScramCredentialsResponse Authorized::Admin::DescribeUserScramCredentials(
    const metadata::DescribeUserScramCredentialsRequest& request) {
  return ClusterRead<metadata::DescribeUserScramCredentialsResponse>(
      authz_, AclOperation::kDescribe,
      [&] { return inner_->DescribeUserScramCredentials(request); });
}

metadata::DescribeClientQuotasResponse Authorized::Admin::DescribeClientQuotas(
    const metadata::DescribeClientQuotasRequest& request) {
  return ClusterRead<metadata::DescribeClientQuotasResponse>(
      authz_, AclOperation::kDescribeConfigs,
      [&] { return inner_->DescribeClientQuotas(request); });
}

}  // namespace strata::request
