#include "broker/group/group_coordinator.h"

#include <algorithm>
#include <random>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/record/control_record.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"

namespace strata::group {
namespace {

// Kafka's mapping of a failed append of group metadata to what members are
// told (GroupMetadataManager.storeGroup): they find the coordinator again.
ErrorCode GroupWriteError(ErrorCode e) {
  switch (e) {
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kNotEnoughReplicasAfterAppend:
    case ErrorCode::kRequestTimedOut:
      return ErrorCode::kCoordinatorNotAvailable;
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kKafkaStorageError:
      return ErrorCode::kNotCoordinator;
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
    case ErrorCode::kInvalidFetchSize:
      return ErrorCode::kUnknownServerError;
    default:
      return e;
  }
}

// The same for committed offsets (GroupMetadataManager.storeOffsets).
ErrorCode OffsetWriteError(ErrorCode e) {
  switch (e) {
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
    case ErrorCode::kInvalidFetchSize:
      return ErrorCode::kInvalidCommitOffsetSize;
    default:
      return GroupWriteError(e);
  }
}

std::string BuildBatch(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& records, int64_t now_ms,
    int64_t producer_id = -1, int16_t producer_epoch = -1) {
  record::RecordBatchBuilder builder;
  if (producer_id >= 0) {
    // A transaction's offsets: the producer's transactional records (the
    // log checks only the epoch of a coordinator's write, not sequences).
    builder.set_producer(producer_id, producer_epoch, 0);
    builder.set_transactional(true);
  }
  for (const auto& [key, value] : records) {
    record::Record r;
    r.key = key;
    r.value = value;
    r.timestamp = now_ms;
    builder.Append(r);
  }
  return builder.Build();
}

// The topics of a ConsumerProtocol subscription (version, then the topic
// array), for OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC check. A
// subscription that does not parse subscribes to nothing.
std::set<std::string> SubscribedTopics(std::string_view bytes) {
  std::set<std::string> topics;
  auto read = [&](size_t n, uint64_t* out) {
    if (bytes.size() < n) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
    bytes.remove_prefix(n);
    *out = v;
    return true;
  };
  uint64_t version = 0;
  uint64_t count = 0;
  if (!read(2, &version) || !read(4, &count)) return {};
  for (uint64_t i = 0; i < count && i < bytes.size(); ++i) {
    uint64_t len = 0;
    if (!read(2, &len) || len > bytes.size()) return {};
    topics.emplace(bytes.substr(0, len));
    bytes.remove_prefix(len);
  }
  return topics;
}

bool SameProtocols(const std::vector<std::pair<std::string, std::string>>& a,
                   const std::vector<std::pair<std::string, std::string>>& b) {
  return a == b;
}

}  // namespace

// What a call must do once the group's lock is released: answer parked
// requests, and start or retire timers in the purgatory (whose operations
// take the group's lock themselves).
struct GroupCoordinator::Effects {
  std::vector<std::function<void()>> actions;

  void Add(std::function<void()> action) { actions.push_back(std::move(action)); }
  // Answers the parked call `cb` (if any) with `error`, and forgets it.
  template <typename Response>
  void Fail(std::function<void(Response)>& cb, ErrorCode error, std::string message,
            const std::string& member_id = "") {
    if (!cb) return;
    Response r;
    r.error = error;
    r.message = std::move(message);
    if constexpr (std::is_same_v<Response, JoinGroupResponse>) r.member_id = member_id;
    Add([cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
    cb = nullptr;
  }
  void Run() {
    for (auto& a : actions) a();
    actions.clear();
  }
};

struct GroupCoordinator::Group {
  Group(GroupMetadata m, int32_t p, int64_t now) : meta(std::move(m)), partition(p) {
    state_since_ms = now;
  }

  struct MemberState {
    std::function<void(JoinGroupResponse)> join;  // a parked JoinGroup
    std::function<void(SyncGroupResponse)> sync;  // a parked SyncGroup
    uint64_t heartbeat_epoch = 0;                 // the live session timer's
    int32_t session_timeout_ms = 0;               // pending members' own
  };

  absl::Mutex mu;
  GroupMetadata meta ABSL_GUARDED_BY(mu);
  const int32_t partition;
  std::weak_ptr<Group> self;  // for timers and writes that outlive a call
  // The partition was unloaded (or the group deleted): answer
  // NOT_COORDINATOR, write nothing.
  bool unloaded ABSL_GUARDED_BY(mu) = false;
  std::map<std::string, MemberState> states ABSL_GUARDED_BY(mu);
  // KIP-394: ids handed out with MEMBER_ID_REQUIRED, not joined with yet.
  std::set<std::string> pending ABSL_GUARDED_BY(mu);
  // Committed offsets, each with where its record sits in the log.
  struct Committed {
    OffsetValue value;
    int64_t log_offset = -1;
    // Committed by a transaction (TxnOffsetCommit): the group reads
    // read_committed, so its lag counts from the last stable offset.
    bool transactional = false;
  };
  std::map<GroupTopicPartition, Committed> offsets ABSL_GUARDED_BY(mu);
  // Commits written and not acknowledged yet, per partition (Kafka's
  // pendingOffsetCommits): a deletion meanwhile drops the entry, and an
  // acknowledgement without one is not cached.
  std::map<GroupTopicPartition, int> pending_commits ABSL_GUARDED_BY(mu);
  // Offsets committed in transactions not completed yet, by producer id
  // (Kafka's pendingTransactionalOffsetCommits); log_offset -1 until the
  // record is acknowledged.
  std::map<int64_t, std::map<GroupTopicPartition, Committed>> pending_txn_offsets
      ABSL_GUARDED_BY(mu);
  // Whether a commit of `tp` is pending, of either kind.
  bool HasPendingCommit(const GroupTopicPartition& tp) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    if (pending_commits.contains(tp)) return true;
    for (const auto& [pid, offsets] : pending_txn_offsets) {
      if (offsets.contains(tp)) return true;
    }
    return false;
  }
  // Makes producer `pid`'s pending offsets the committed ones, unless a
  // later record committed the partition already (the log's order wins, as
  // on a reload); or drops them.
  void CompleteTxn(int64_t pid, bool commit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = pending_txn_offsets.find(pid);
    if (it == pending_txn_offsets.end()) return;
    if (commit) {
      for (auto& [tp, c] : it->second) {
        if (c.log_offset < 0) {
          LOG(WARNING) << "Group " << meta.group_id() << ": the transaction of producer " << pid
                       << " committed before its offset of " << tp.topic << "-" << tp.partition
                       << " was acknowledged; dropping that offset";
          continue;
        }
        auto cached = offsets.find(tp);
        if (cached == offsets.end() || cached->second.log_offset < c.log_offset) {
          offsets[tp] = std::move(c);
        }
      }
    }
    pending_txn_offsets.erase(it);
  }
  // Members answered in the current generation's JoinGroup that have not
  // sent SyncGroup yet: out at the rebalance timeout (Kafka's DelayedSync).
  std::set<std::string> pending_sync ABSL_GUARDED_BY(mu);
  // Identifies the live rebalance (or sync) timer; bumped to retire it.
  uint64_t join_epoch ABSL_GUARDED_BY(mu) = 0;
  // The initial rebalance delay: no join completes before this.
  int64_t join_not_before_ms ABSL_GUARDED_BY(mu) = 0;
  int64_t rebalance_deadline_ms ABSL_GUARDED_BY(mu) = 0;
  bool new_member_added ABSL_GUARDED_BY(mu) = false;
  int64_t state_since_ms ABSL_GUARDED_BY(mu) = 0;
};

namespace {

void SetState(GroupMetadata& meta, GroupState s) {
  const absl::Status st = meta.TransitionTo(s);
  CHECK(st.ok()) << st;
}

std::string MemberMetadataFor(const MemberMetadata& m, const std::string& protocol) {
  for (const auto& [name, metadata] : m.protocols) {
    if (name == protocol) return metadata;
  }
  return "";
}

}  // namespace

GroupCoordinator::GroupCoordinator(CoordinatorOptions options)
    : options_(std::move(options)), id_rng_(std::random_device()()) {
  CHECK(options_.clock != nullptr && options_.purgatory != nullptr && options_.append &&
        options_.read);
  CHECK_GT(options_.offsets_topic_partitions, 0);
  loader_ = std::thread([this] { LoaderLoop(); });
}

GroupCoordinator::~GroupCoordinator() { Shutdown(); }

void GroupCoordinator::Shutdown() {
  {
    absl::MutexLock l(&loader_mu_);
    loader_stop_ = true;
  }
  if (loader_.joinable()) loader_.join();
  std::vector<std::pair<int32_t, int32_t>> held;
  {
    absl::MutexLock l(&mu_);
    shutdown_ = true;
    for (const auto& [p, state] : partitions_) held.emplace_back(p, state.epoch);
  }
  for (const auto& [p, epoch] : held) Unload(p, epoch);
}

int32_t GroupCoordinator::PartitionFor(const std::string& group_id) const {
  int32_t count =
      options_.offsets_topic_partition_count ? options_.offsets_topic_partition_count() : -1;
  if (count <= 0) count = options_.offsets_topic_partitions;
  return OffsetsPartitionFor(group_id, count);
}

bool GroupCoordinator::IsCoordinatorFor(const std::string& group_id) const {
  absl::MutexLock l(&mu_);
  auto it = partitions_.find(PartitionFor(group_id));
  return !shutdown_ && it != partitions_.end() && it->second.loaded;
}

bool GroupCoordinator::Loading() const {
  absl::MutexLock l(&mu_);
  return std::any_of(partitions_.begin(), partitions_.end(),
                     [](const auto& p) { return !p.second.loaded; });
}

std::shared_ptr<GroupCoordinator::Group> GroupCoordinator::Lookup(const std::string& group_id,
                                                                  bool create, bool allow_empty_id,
                                                                  GroupResult* result) {
  *result = GroupResult();
  if (group_id.empty() && !allow_empty_id) {
    result->error = ErrorCode::kInvalidGroupId;
    result->message = "The group id is empty";
    return nullptr;
  }
  const int32_t p = PartitionFor(group_id);
  absl::MutexLock l(&mu_);
  auto part = partitions_.find(p);
  if (shutdown_ || part == partitions_.end()) {
    result->error = ErrorCode::kNotCoordinator;
    result->message =
        absl::StrCat("Broker ", options_.broker_id, " is not the coordinator of group '", group_id,
                     "' (partition ", p, " of ", kOffsetsTopic, ")");
    return nullptr;
  }
  if (!part->second.loaded) {
    result->error = ErrorCode::kCoordinatorLoadInProgress;
    result->message = absl::StrCat("Broker ", options_.broker_id, " is still loading partition ", p,
                                   " of ", kOffsetsTopic, ", which holds group '", group_id, "'");
    return nullptr;
  }
  auto it = groups_.find(group_id);
  if (it != groups_.end()) return it->second;
  if (!create) return nullptr;
  std::shared_ptr<Group> g = MakeGroup(GroupMetadata(group_id), p);
  groups_.emplace(group_id, g);
  return g;
}

std::shared_ptr<GroupCoordinator::Group> GroupCoordinator::MakeGroup(GroupMetadata meta,
                                                                     int32_t partition) {
  auto g = std::make_shared<Group>(std::move(meta), partition, options_.clock->NowMs());
  g->self = g;
  return g;
}

// --- JoinGroup ---

void GroupCoordinator::JoinGroup(JoinGroupRequest request,
                                 std::function<void(JoinGroupResponse)> done) {
  auto fail = [&](ErrorCode error, std::string message) {
    JoinGroupResponse r;
    r.error = error;
    r.message = std::move(message);
    r.member_id = request.member_id;
    done(std::move(r));
  };
  if (request.rebalance_timeout_ms < 0) request.rebalance_timeout_ms = request.session_timeout_ms;
  if (request.group_id.empty()) return fail(ErrorCode::kInvalidGroupId, "The group id is empty");
  {
    // Where the group lives is checked first, as Kafka does: a client that
    // asked the wrong broker learns that before anything else.
    GroupResult placement;
    Lookup(request.group_id, /*create=*/false, /*allow_empty_id=*/false, &placement);
    if (placement.error != ErrorCode::kNone) return fail(placement.error, placement.message);
  }
  if (request.session_timeout_ms < options_.min_session_timeout_ms ||
      request.session_timeout_ms > options_.max_session_timeout_ms) {
    return fail(ErrorCode::kInvalidSessionTimeout,
                absl::StrCat("session.timeout.ms ", request.session_timeout_ms,
                             " is outside the broker's range [", options_.min_session_timeout_ms,
                             ", ", options_.max_session_timeout_ms,
                             "] (group.min.session.timeout.ms, group.max.session.timeout.ms)"));
  }
  if (request.protocol_type.empty() || request.protocols.empty()) {
    return fail(ErrorCode::kInconsistentGroupProtocol,
                "A JoinGroup needs a protocol type and at least one protocol");
  }
  // Every id is stored in __consumer_offsets as a string of at most
  // kMaxRecordStringBytes; the member id adds 37 bytes to the client id.
  if (request.group_id.size() > kMaxRecordStringBytes) {
    return fail(ErrorCode::kInvalidGroupId,
                absl::StrCat("The group id is ", request.group_id.size(), " bytes; at most ",
                             kMaxRecordStringBytes, " are allowed"));
  }
  bool too_long = request.client_id.size() > kMaxRecordStringBytes - 64 ||
                  request.client_host.size() > kMaxRecordStringBytes ||
                  request.member_id.size() > kMaxRecordStringBytes ||
                  request.group_instance_id.size() > kMaxRecordStringBytes ||
                  request.protocol_type.size() > kMaxRecordStringBytes;
  for (const auto& [name, metadata] : request.protocols) {
    too_long = too_long || name.size() > kMaxRecordStringBytes;
  }
  if (too_long) {
    return fail(ErrorCode::kInvalidRequest,
                absl::StrCat("An id, protocol type or protocol name of this JoinGroup is over ",
                             kMaxRecordStringBytes, " bytes"));
  }
  const bool unknown_member = request.member_id.empty();
  GroupResult lookup;
  std::shared_ptr<Group> g =
      Lookup(request.group_id, /*create=*/unknown_member, /*allow_empty_id=*/false, &lookup);
  if (g == nullptr) {
    if (lookup.error != ErrorCode::kNone) return fail(lookup.error, lookup.message);
    return fail(ErrorCode::kUnknownMemberId,
                absl::StrCat("Group '", request.group_id, "' has no member ", request.member_id));
  }

  Effects fx;
  {
    absl::MutexLock l(&g->mu);
    auto answer = [&](ErrorCode error, std::string message) {
      fx.Fail(done, error, std::move(message), request.member_id);
    };
    std::vector<std::string> names;
    for (const auto& [name, metadata] : request.protocols) names.push_back(name);
    const std::string& instance = request.group_instance_id;
    if (g->unloaded) {
      answer(ErrorCode::kNotCoordinator, "The group's coordinator moved");
    } else if (g->meta.state() == GroupState::kDead) {
      answer(ErrorCode::kCoordinatorNotAvailable,
             absl::StrCat("Group '", request.group_id, "' is being deleted"));
    } else if (!g->meta.SupportsProtocols(request.protocol_type, names)) {
      answer(ErrorCode::kInconsistentGroupProtocol,
             absl::StrCat("Group '", request.group_id, "' uses protocol type '",
                          g->meta.protocol_type(), "' and shares none of the protocols [",
                          absl::StrJoin(names, ","), "] with all its members"));
    } else if (unknown_member) {
      if (static_cast<int64_t>(g->meta.members().size()) >= options_.max_group_size) {
        answer(ErrorCode::kGroupMaxSizeReached,
               absl::StrCat("Group '", request.group_id, "' already has ", options_.max_group_size,
                            " members (group.max.size)"));
      } else {
        const std::string new_id = NewMemberId(request.client_id);
        std::optional<std::string> old_static =
            instance.empty() ? std::nullopt : g->meta.StaticMemberId(instance);
        if (old_static) {
          StaticMemberRejoin(g, request, *old_static, new_id, std::move(done), fx);
        } else if (instance.empty() && request.require_known_member_id) {
          g->pending.insert(new_id);
          g->states[new_id].session_timeout_ms = request.session_timeout_ms;
          ScheduleHeartbeat(*g, new_id, fx);
          JoinGroupResponse r;
          r.error = ErrorCode::kMemberIdRequired;
          r.message = "Join again with the member id given";
          r.member_id = new_id;
          fx.Add([done, r = std::move(r)]() mutable { done(std::move(r)); });
        } else {
          AddMemberAndRebalance(*g, request, new_id, std::move(done), fx);
        }
      }
    } else if (g->pending.contains(request.member_id)) {
      g->pending.erase(request.member_id);
      AddMemberAndRebalance(*g, request, request.member_id, std::move(done), fx);
    } else {
      const std::optional<std::string> static_id =
          instance.empty() ? std::nullopt : g->meta.StaticMemberId(instance);
      const MemberMetadata* member = g->meta.Get(request.member_id);
      if (!instance.empty() && static_id && *static_id != request.member_id) {
        answer(ErrorCode::kFencedInstanceId,
               absl::StrCat("Member ", request.member_id, " of group '", request.group_id,
                            "' was replaced by another with group.instance.id '", instance, "'"));
      } else if (member == nullptr || (!instance.empty() && !static_id)) {
        answer(ErrorCode::kUnknownMemberId,
               absl::StrCat("Group '", request.group_id, "' has no member ", request.member_id));
      } else {
        switch (g->meta.state()) {
          case GroupState::kPreparingRebalance:
            UpdateMemberAndRebalance(*g, request, std::move(done), fx);
            break;
          case GroupState::kCompletingRebalance:
            if (SameProtocols(member->protocols, request.protocols)) {
              JoinGroupResponse r = CurrentGeneration(*g, request.member_id);
              fx.Add([done, r = std::move(r)]() mutable { done(std::move(r)); });
            } else {
              UpdateMemberAndRebalance(*g, request, std::move(done), fx);
            }
            break;
          case GroupState::kStable:
            if (g->meta.leader_id() == request.member_id ||
                !SameProtocols(member->protocols, request.protocols)) {
              UpdateMemberAndRebalance(*g, request, std::move(done), fx);
            } else {
              JoinGroupResponse r = CurrentGeneration(*g, request.member_id);
              fx.Add([done, r = std::move(r)]() mutable { done(std::move(r)); });
            }
            break;
          case GroupState::kEmpty:
          case GroupState::kDead:
            answer(
                ErrorCode::kUnknownMemberId,
                absl::StrCat("Group '", request.group_id, "' has no member ", request.member_id));
            break;
        }
      }
    }
  }
  fx.Run();
}

std::string GroupCoordinator::NewMemberId(const std::string& client_id) {
  absl::MutexLock l(&id_mu_);
  const uint64_t hi = id_rng_();
  const uint64_t lo = id_rng_();
  return absl::StrFormat("%s-%08x-%04x-%04x-%04x-%012x", client_id, hi >> 32, (hi >> 16) & 0xffff,
                         hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

JoinGroupResponse GroupCoordinator::CurrentGeneration(const Group& g,
                                                      const std::string& member_id) const {
  JoinGroupResponse r;
  r.generation_id = g.meta.generation_id();
  r.protocol_type = g.meta.protocol_type();
  r.protocol_name = g.meta.protocol_name();
  r.leader = g.meta.leader_id();
  r.member_id = member_id;
  if (member_id == g.meta.leader_id()) {
    for (const auto& [id, m] : g.meta.members()) {
      r.members.push_back(
          JoinGroupMember{id, m.group_instance_id, MemberMetadataFor(m, g.meta.protocol_name())});
    }
  }
  return r;
}

void GroupCoordinator::AddMemberAndRebalance(Group& g, const JoinGroupRequest& request,
                                             const std::string& member_id,
                                             std::function<void(JoinGroupResponse)> done,
                                             Effects& fx) {
  MemberMetadata m;
  m.member_id = member_id;
  m.group_instance_id = request.group_instance_id;
  m.client_id = request.client_id;
  m.client_host = request.client_host;
  m.rebalance_timeout_ms = request.rebalance_timeout_ms;
  m.session_timeout_ms = request.session_timeout_ms;
  m.protocol_type = request.protocol_type;
  m.protocols = request.protocols;
  const absl::Status added = g.meta.Add(std::move(m));
  if (!added.ok()) {
    JoinGroupResponse r;
    r.error = ErrorCode::kInconsistentGroupProtocol;
    r.message = std::string(added.message());
    r.member_id = member_id;
    fx.Add([done, r = std::move(r)]() mutable { done(std::move(r)); });
    return;
  }
  Group::MemberState& st = g.states[member_id];
  st.join = std::move(done);
  st.session_timeout_ms = request.session_timeout_ms;
  if (g.meta.state() == GroupState::kPreparingRebalance && g.join_not_before_ms > 0) {
    g.new_member_added = true;
  }
  if (g.meta.state() == GroupState::kPreparingRebalance) {
    TryCompleteJoin(g, /*force=*/false, fx);
  } else {
    MaybePrepareRebalance(g, absl::StrCat("member ", member_id, " joined"), fx);
  }
}

void GroupCoordinator::UpdateMemberAndRebalance(Group& g, const JoinGroupRequest& request,
                                                std::function<void(JoinGroupResponse)> done,
                                                Effects& fx) {
  MemberMetadata* m = g.meta.Mutable(request.member_id);
  m->protocols = request.protocols;
  m->rebalance_timeout_ms = request.rebalance_timeout_ms;
  m->session_timeout_ms = request.session_timeout_ms;
  Group::MemberState& st = g.states[request.member_id];
  // A second JoinGroup from the same member replaces the first, which is
  // answered as Kafka does (the member has already moved on).
  fx.Fail(st.join, ErrorCode::kUnknownMemberId,
          "Replaced by a newer JoinGroup from the same member", request.member_id);
  st.join = std::move(done);
  if (g.meta.state() == GroupState::kPreparingRebalance) {
    TryCompleteJoin(g, /*force=*/false, fx);
  } else {
    MaybePrepareRebalance(g, absl::StrCat("member ", request.member_id, " rejoined"), fx);
  }
}

void GroupCoordinator::StaticMemberRejoin(const std::shared_ptr<Group>& gp,
                                          const JoinGroupRequest& request,
                                          const std::string& old_id, const std::string& new_id,
                                          std::function<void(JoinGroupResponse)> done,
                                          Effects& fx) {
  Group& g = *gp;
  // A restarted static member's subscription differs in what belongs to
  // its incarnation (owned partitions, generation, user data); only a
  // change of topics, or of the protocol the group would choose, calls for
  // a rebalance.
  const MemberMetadata* old = g.meta.Get(old_id);
  const MemberMetadata old_copy = *old;
  const std::string protocol = g.meta.protocol_name();
  std::string new_metadata;
  bool supports_protocol = false;
  for (const auto& [name, metadata] : request.protocols) {
    if (name == protocol) {
      supports_protocol = true;
      new_metadata = metadata;
    }
  }
  const std::string old_metadata = MemberMetadataFor(*old, protocol);
  const bool protocols_changed =
      !supports_protocol || (g.meta.protocol_type() == "consumer"
                                 ? SubscribedTopics(old_metadata) != SubscribedTopics(new_metadata)
                                 : old_metadata != new_metadata);
  // The old incarnation's parked calls learn it was fenced.
  auto st = g.states.find(old_id);
  if (st != g.states.end()) {
    const char* fenced = "A newer member joined with the same group.instance.id";
    fx.Fail(st->second.join, ErrorCode::kFencedInstanceId, fenced, old_id);
    fx.Fail(st->second.sync, ErrorCode::kFencedInstanceId, fenced);
    g.states.erase(st);
    fx.Add([this, key = purgatory::WatchKey::Member(g.meta.group_id(), old_id)] {
      options_.purgatory->CheckAndComplete(key);
    });
  }
  CHECK(g.meta.ReplaceStaticMember(old_id, new_id).ok());
  if (g.pending_sync.erase(old_id) > 0) g.pending_sync.insert(new_id);
  MemberMetadata* m = g.meta.Mutable(new_id);
  m->client_id = request.client_id;
  m->client_host = request.client_host;
  m->rebalance_timeout_ms = request.rebalance_timeout_ms;
  m->session_timeout_ms = request.session_timeout_ms;
  m->protocols = request.protocols;
  g.states[new_id].session_timeout_ms = request.session_timeout_ms;

  switch (g.meta.state()) {
    case GroupState::kStable:
      if (!protocols_changed && g.meta.SelectProtocol() == protocol) {
        // KIP-345: the same member came back within its session. It keeps
        // its assignment, the generation stays; the new id is stored first
        // so a coordinator failover does not resurrect the old one.
        // The call waits as the member's pending join, where an unload
        // finds (and answers) it.
        const int32_t generation = g.meta.generation_id();
        MemberMetadata previous = old_copy;
        g.states[new_id].join = std::move(done);
        StoreGroup(
            gp, std::nullopt,
            [this, new_id, old_id, generation, previous = std::move(previous)](
                Group& g, ErrorCode error, Effects& fx) {
              auto st = g.states.find(new_id);
              if (st == g.states.end() || !st->second.join) return;  // answered meanwhile
              std::function<void(JoinGroupResponse)> cb = std::move(st->second.join);
              st->second.join = nullptr;
              JoinGroupResponse r;
              if (error != ErrorCode::kNone) {
                // Not stored: the old incarnation stays the member (Kafka
                // reverts the replacement), and the new one is told why.
                if (g.meta.Has(new_id) && g.meta.ReplaceStaticMember(new_id, old_id).ok()) {
                  *g.meta.Mutable(old_id) = previous;
                  g.states.erase(new_id);
                  g.states[old_id].session_timeout_ms = previous.session_timeout_ms;
                  ScheduleHeartbeat(g, old_id, fx);
                }
                r.error = error;
                r.message = "Could not store the rejoined static member; join again";
              } else {
                r = CurrentGeneration(g, new_id);
                r.generation_id = generation;
                // KIP-814: a static leader must not assign again.
                r.skip_assignment = g.meta.leader_id() == new_id;
                ScheduleHeartbeat(g, new_id, fx);
              }
              fx.Add([cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
            },
            fx);
        ScheduleHeartbeat(g, new_id, fx);
        return;
      }
      g.states[new_id].join = std::move(done);
      MaybePrepareRebalance(g, absl::StrCat("static member ", new_id, " changed its protocols"),
                            fx);
      return;
    case GroupState::kCompletingRebalance:
    case GroupState::kPreparingRebalance:
      g.states[new_id].join = std::move(done);
      if (g.meta.state() == GroupState::kPreparingRebalance) {
        TryCompleteJoin(g, /*force=*/false, fx);
      } else {
        MaybePrepareRebalance(g, absl::StrCat("static member ", new_id, " rejoined"), fx);
      }
      return;
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
  LOG(DFATAL) << "static member " << old_id << " in a group in state "
              << GroupStateName(g.meta.state());
}

void GroupCoordinator::MaybePrepareRebalance(Group& g, const std::string& reason, Effects& fx) {
  const GroupState s = g.meta.state();
  if (s == GroupState::kStable || s == GroupState::kCompletingRebalance ||
      s == GroupState::kEmpty) {
    PrepareRebalance(g, reason, fx);
  }
}

void GroupCoordinator::PrepareRebalance(Group& g, const std::string& reason, Effects& fx) {
  if (g.meta.state() == GroupState::kCompletingRebalance) {
    ResetAndPropagateSyncError(g, ErrorCode::kRebalanceInProgress, fx);
  }
  const bool initial = g.meta.state() == GroupState::kEmpty;
  SetState(g.meta, GroupState::kPreparingRebalance);
  g.pending_sync.clear();
  const int64_t now = options_.clock->NowMs();
  g.state_since_ms = now;
  int32_t rebalance_timeout = 0;
  for (const auto& [id, m] : g.meta.members()) {
    rebalance_timeout = std::max(rebalance_timeout, m.rebalance_timeout_ms);
  }
  g.rebalance_deadline_ms = now + rebalance_timeout;
  VLOG(1) << "Preparing to rebalance group " << g.meta.group_id() << " in generation "
          << g.meta.generation_id() << ": " << reason;
  if (initial && options_.initial_rebalance_delay_ms > 0) {
    g.new_member_added = false;
    g.join_not_before_ms =
        now + std::min<int64_t>(options_.initial_rebalance_delay_ms, rebalance_timeout);
    ScheduleJoinTimer(g, g.join_not_before_ms, fx);
  } else {
    g.join_not_before_ms = 0;
    ScheduleJoinTimer(g, g.rebalance_deadline_ms, fx);
  }
  TryCompleteJoin(g, /*force=*/false, fx);
}

bool GroupCoordinator::TryCompleteJoin(Group& g, bool force, Effects& fx) {
  if (g.meta.state() != GroupState::kPreparingRebalance) return false;
  if (!force) {
    if (options_.clock->NowMs() < g.join_not_before_ms) return false;
    if (!g.pending.empty()) return false;
    for (const auto& [id, m] : g.meta.members()) {
      auto st = g.states.find(id);
      if (st == g.states.end() || !st->second.join) return false;
    }
  }
  CompleteJoin(g, fx);
  return true;
}

void GroupCoordinator::CompleteJoin(Group& g, Effects& fx) {
  // Dynamic members that did not rejoin in time are out; static ones stay
  // (their session decides), as in Kafka.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.meta.members()) {
    auto st = g.states.find(id);
    const bool joined = st != g.states.end() && st->second.join;
    if (!joined && m.group_instance_id.empty()) gone.push_back(id);
  }
  for (const std::string& id : gone) {
    g.meta.Remove(id);
    g.states.erase(id);
    fx.Add([this, key = purgatory::WatchKey::Member(g.meta.group_id(), id)] {
      options_.purgatory->CheckAndComplete(key);
    });
  }
  // A static leader that did not rejoin cannot assign: a member that did
  // leads (Kafka's maybeElectNewJoinedLeader).
  auto joined = [&](const std::string& id) {
    auto st = g.states.find(id);
    return st != g.states.end() && st->second.join != nullptr;
  };
  if (!g.meta.leader_id().empty() && !joined(g.meta.leader_id())) {
    for (const auto& [id, m] : g.meta.members()) {
      if (joined(id)) {
        g.meta.SetLeader(id);
        break;
      }
    }
  }
  if (!g.meta.members().empty() && !joined(g.meta.leader_id())) {
    // Only static members that have not come back: a generation nobody
    // hears of would help no one. Wait another rebalance timeout; their
    // rejoins or their sessions decide (Kafka's onCompleteJoin).
    ScheduleJoinTimer(g, options_.clock->NowMs() + MaxRebalanceTimeout(g), fx);
    return;
  }
  RetireJoinTimer(g, fx);
  CHECK(g.meta.InitNextGeneration().ok());
  g.state_since_ms = options_.clock->NowMs();
  g.join_not_before_ms = 0;
  if (g.meta.members().empty()) {
    // Empty now: remember that (and the generation) durably.
    if (std::shared_ptr<Group> self = g.self.lock()) {
      StoreGroup(
          self, std::nullopt, [](Group&, ErrorCode, Effects&) {}, fx);
    }
    return;
  }
  VLOG(1) << "Group " << g.meta.group_id() << " moves to generation " << g.meta.generation_id()
          << " with " << g.meta.members().size() << " members, protocol " << g.meta.protocol_name();
  g.pending_sync.clear();
  for (const auto& [id, m] : g.meta.members()) g.pending_sync.insert(id);
  for (auto& [id, st] : g.states) {
    if (!st.join || !g.meta.Has(id)) continue;
    JoinGroupResponse r = CurrentGeneration(g, id);
    fx.Add([cb = std::move(st.join), r = std::move(r)]() mutable { cb(std::move(r)); });
    st.join = nullptr;
    ScheduleHeartbeat(g, id, fx);
  }
  // Every member must send SyncGroup within the rebalance timeout (the
  // leader with the assignment); the timer stays past Stable for that.
  ScheduleJoinTimer(g, g.state_since_ms + MaxRebalanceTimeout(g), fx);
}

int32_t GroupCoordinator::MaxRebalanceTimeout(const Group& g) const {
  int32_t timeout = 0;
  for (const auto& [id, m] : g.meta.members()) timeout = std::max(timeout, m.rebalance_timeout_ms);
  return timeout;
}

void GroupCoordinator::ResetAndPropagateSyncError(Group& g, ErrorCode error, Effects& fx) {
  for (auto& [id, st] : g.states) {
    if (!st.sync) continue;
    fx.Fail(st.sync, error,
            absl::StrCat("Group '", g.meta.group_id(), "' is rebalancing; join again"));
    if (g.meta.Has(id)) ScheduleHeartbeat(g, id, fx);
  }
}

void GroupCoordinator::RemoveMemberAndUpdateGroup(Group& g, const std::string& member_id,
                                                  const std::string& reason, Effects& fx) {
  auto st = g.states.find(member_id);
  if (st != g.states.end()) {
    fx.Fail(st->second.join, ErrorCode::kUnknownMemberId, reason, member_id);
    fx.Fail(st->second.sync, ErrorCode::kUnknownMemberId, reason);
    g.states.erase(st);
  }
  fx.Add([this, key = purgatory::WatchKey::Member(g.meta.group_id(), member_id)] {
    options_.purgatory->CheckAndComplete(key);
  });
  g.meta.Remove(member_id);
  switch (g.meta.state()) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      MaybePrepareRebalance(g, reason, fx);
      break;
    case GroupState::kPreparingRebalance:
      TryCompleteJoin(g, /*force=*/false, fx);
      break;
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
}

// --- Timers ---

void GroupCoordinator::ScheduleHeartbeat(Group& g, const std::string& member_id, Effects& fx) {
  Group::MemberState& st = g.states[member_id];
  const uint64_t epoch = ++st.heartbeat_epoch;
  int32_t session = st.session_timeout_ms;
  if (const MemberMetadata* m = g.meta.Get(member_id)) session = m->session_timeout_ms;
  std::weak_ptr<Group> weak = g.self;
  auto op = std::make_shared<purgatory::DelayedOperation>(
      options_.clock->NowMs() + session, [this, weak, member_id, epoch](bool expired) {
        std::shared_ptr<Group> gp = weak.lock();
        if (gp == nullptr) return true;
        if (!expired) {
          absl::MutexLock l(&gp->mu);
          auto it = gp->states.find(member_id);
          return it == gp->states.end() || it->second.heartbeat_epoch != epoch;
        }
        OnSessionTimeout(gp, member_id, epoch);
        return true;
      });
  fx.Add([this, op, key = purgatory::WatchKey::Member(g.meta.group_id(), member_id)] {
    options_.purgatory->CheckAndComplete(key);  // retires the previous timer
    options_.purgatory->TryCompleteElseWatch(op, {key});
  });
}

void GroupCoordinator::ScheduleJoinTimer(Group& g, int64_t deadline_ms, Effects& fx) {
  const uint64_t epoch = ++g.join_epoch;
  std::weak_ptr<Group> weak = g.self;
  auto op =
      std::make_shared<purgatory::DelayedOperation>(deadline_ms, [this, weak, epoch](bool expired) {
        std::shared_ptr<Group> gp = weak.lock();
        if (gp == nullptr) return true;
        if (!expired) {
          absl::MutexLock l(&gp->mu);
          return gp->join_epoch != epoch;
        }
        OnJoinTimer(gp, epoch);
        return true;
      });
  fx.Add([this, op, key = purgatory::WatchKey::Group(g.meta.group_id())] {
    options_.purgatory->CheckAndComplete(key);
    options_.purgatory->TryCompleteElseWatch(op, {key});
  });
}

void GroupCoordinator::RetireJoinTimer(Group& g, Effects& fx) {
  ++g.join_epoch;
  fx.Add([this, key = purgatory::WatchKey::Group(g.meta.group_id())] {
    options_.purgatory->CheckAndComplete(key);
  });
}

void GroupCoordinator::OnJoinTimer(const std::shared_ptr<Group>& gp, uint64_t join_epoch) {
  Effects fx;
  {
    absl::MutexLock l(&gp->mu);
    Group& g = *gp;
    if (g.unloaded || g.join_epoch != join_epoch) return;
    const int64_t now = options_.clock->NowMs();
    if (g.meta.state() == GroupState::kPreparingRebalance) {
      if (g.join_not_before_ms > 0) {
        // The initial delay ended; more members joined meanwhile: wait
        // again, up to the rebalance timeout (Kafka's InitialDelayedJoin).
        const int64_t remaining = g.rebalance_deadline_ms - now;
        if (g.new_member_added && remaining > 0) {
          g.new_member_added = false;
          g.join_not_before_ms =
              now + std::min<int64_t>(options_.initial_rebalance_delay_ms, remaining);
          ScheduleJoinTimer(g, g.join_not_before_ms, fx);
        } else {
          g.join_not_before_ms = 0;
          TryCompleteJoin(g, /*force=*/true, fx);
        }
      } else {
        TryCompleteJoin(g, /*force=*/true, fx);
      }
    } else if ((g.meta.state() == GroupState::kCompletingRebalance ||
                g.meta.state() == GroupState::kStable) &&
               !g.pending_sync.empty()) {
      // Members answered in this generation's JoinGroup that never sent
      // SyncGroup (in CompletingRebalance, the leader among them) are out,
      // and the rest rebalance (Kafka's DelayedSync).
      std::vector<std::string> gone(g.pending_sync.begin(), g.pending_sync.end());
      g.pending_sync.clear();
      for (const std::string& id : gone) {
        if (!g.meta.Has(id)) continue;
        g.states.erase(id);
        g.meta.Remove(id);
        fx.Add([this, key = purgatory::WatchKey::Member(g.meta.group_id(), id)] {
          options_.purgatory->CheckAndComplete(key);
        });
      }
      PrepareRebalance(g, "members did not send SyncGroup in time", fx);
    }
  }
  fx.Run();
}

void GroupCoordinator::OnSessionTimeout(const std::shared_ptr<Group>& gp,
                                        const std::string& member_id, uint64_t heartbeat_epoch) {
  Effects fx;
  {
    absl::MutexLock l(&gp->mu);
    Group& g = *gp;
    auto st = g.states.find(member_id);
    if (g.unloaded || st == g.states.end() || st->second.heartbeat_epoch != heartbeat_epoch) return;
    if (g.pending.erase(member_id) > 0) {
      g.states.erase(st);
      TryCompleteJoin(g, /*force=*/false, fx);
    } else if (!st->second.join && !st->second.sync) {
      // A member parked in JoinGroup or SyncGroup is waiting on the group,
      // not silent: the rebalance's own timeout governs it.
      LOG(INFO) << "Member " << member_id << " of group " << g.meta.group_id()
                << " sent no heartbeat within its session timeout; removing it";
      RemoveMemberAndUpdateGroup(g, member_id, "session timeout expired", fx);
    }
  }
  fx.Run();
}

// --- SyncGroup ---

void GroupCoordinator::SyncGroup(SyncGroupRequest request,
                                 std::function<void(SyncGroupResponse)> done) {
  auto fail = [&](ErrorCode error, std::string message) {
    SyncGroupResponse r;
    r.error = error;
    r.message = std::move(message);
    done(std::move(r));
  };
  GroupResult lookup;
  std::shared_ptr<Group> g = Lookup(request.group_id, false, false, &lookup);
  if (g == nullptr) {
    // While loading, Kafka has the member rejoin (a Java consumer takes
    // COORDINATOR_LOAD_IN_PROGRESS on SyncGroup as fatal).
    if (lookup.error == ErrorCode::kCoordinatorLoadInProgress) {
      return fail(ErrorCode::kRebalanceInProgress, lookup.message);
    }
    if (lookup.error != ErrorCode::kNone) return fail(lookup.error, lookup.message);
    return fail(ErrorCode::kUnknownMemberId,
                absl::StrCat("Group '", request.group_id, "' does not exist"));
  }
  Effects fx;
  {
    absl::MutexLock l(&g->mu);
    auto answer = [&](ErrorCode error, std::string message) {
      fx.Fail(done, error, std::move(message));
    };
    GroupResult member = ValidateMember(*g, request.member_id, request.group_instance_id);
    if (member.error != ErrorCode::kNone) {
      answer(member.error, member.message);
    } else if (request.generation_id != g->meta.generation_id()) {
      answer(ErrorCode::kIllegalGeneration,
             absl::StrCat("Generation ", request.generation_id, " is not group '", request.group_id,
                          "''s current generation ", g->meta.generation_id()));
    } else if ((!request.protocol_type.empty() &&
                request.protocol_type != g->meta.protocol_type()) ||
               (!request.protocol_name.empty() &&
                request.protocol_name != g->meta.protocol_name())) {
      answer(ErrorCode::kInconsistentGroupProtocol,
             absl::StrCat("Group '", request.group_id, "' uses ", g->meta.protocol_type(), "/",
                          g->meta.protocol_name()));
    } else {
      switch (g->meta.state()) {
        case GroupState::kEmpty:
        case GroupState::kDead:
          answer(ErrorCode::kUnknownMemberId, "The group has no members");
          break;
        case GroupState::kPreparingRebalance:
          answer(ErrorCode::kRebalanceInProgress,
                 absl::StrCat("Group '", request.group_id, "' is rebalancing; join again"));
          break;
        case GroupState::kStable: {
          SyncGroupResponse r;
          r.protocol_type = g->meta.protocol_type();
          r.protocol_name = g->meta.protocol_name();
          r.assignment = g->meta.Get(request.member_id)->assignment;
          fx.Add([done, r = std::move(r)]() mutable { done(std::move(r)); });
          g->pending_sync.erase(request.member_id);
          ScheduleHeartbeat(*g, request.member_id, fx);
          break;
        }
        case GroupState::kCompletingRebalance: {
          g->pending_sync.erase(request.member_id);
          Group::MemberState& st = g->states[request.member_id];
          fx.Fail(st.sync, ErrorCode::kUnknownMemberId,
                  "Replaced by a newer SyncGroup from the same member");
          st.sync = std::move(done);
          // Only the leader's assignment counts; what another member sends
          // is ignored, as in Kafka.
          if (request.member_id == g->meta.leader_id()) {
            std::map<std::string, std::string> assignment;
            for (auto& [id, bytes] : request.assignments) {
              if (g->meta.Has(id)) assignment[id] = std::move(bytes);
            }
            for (const auto& [id, m] : g->meta.members()) assignment.try_emplace(id, "");
            const int32_t generation = g->meta.generation_id();
            StoreGroup(
                g, assignment,
                [this, assignment, generation](Group& g, ErrorCode error, Effects& fx) {
                  if (g.meta.state() != GroupState::kCompletingRebalance ||
                      g.meta.generation_id() != generation) {
                    return;  // moved on meanwhile
                  }
                  if (error != ErrorCode::kNone) {
                    ResetAndPropagateSyncError(g, error, fx);
                    MaybePrepareRebalance(g, "storing the assignment failed", fx);
                    return;
                  }
                  for (const auto& [id, bytes] : assignment) g.meta.SetAssignment(id, bytes);
                  for (auto& [id, st] : g.states) {
                    if (!st.sync) continue;
                    SyncGroupResponse r;
                    r.protocol_type = g.meta.protocol_type();
                    r.protocol_name = g.meta.protocol_name();
                    if (const MemberMetadata* m = g.meta.Get(id)) r.assignment = m->assignment;
                    fx.Add([cb = std::move(st.sync), r = std::move(r)]() mutable {
                      cb(std::move(r));
                    });
                    st.sync = nullptr;
                    ScheduleHeartbeat(g, id, fx);
                  }
                  SetState(g.meta, GroupState::kStable);
                  g.state_since_ms = options_.clock->NowMs();
                },
                fx);
          }
          break;
        }
      }
    }
  }
  fx.Run();
}

GroupResult GroupCoordinator::ValidateMember(const Group& g, const std::string& member_id,
                                             const std::string& instance) const {
  GroupResult r;
  if (g.unloaded) {
    r.error = ErrorCode::kNotCoordinator;
    r.message = "The group's coordinator moved";
  } else if (g.meta.state() == GroupState::kDead) {
    r.error = ErrorCode::kCoordinatorNotAvailable;
    r.message = absl::StrCat("Group '", g.meta.group_id(), "' is being deleted");
  } else if (!instance.empty()) {
    const std::optional<std::string> id = g.meta.StaticMemberId(instance);
    if (!id) {
      r.error = ErrorCode::kUnknownMemberId;
      r.message = absl::StrCat("Group '", g.meta.group_id(), "' has no member with ",
                               "group.instance.id '", instance, "'");
    } else if (*id != member_id) {
      r.error = ErrorCode::kFencedInstanceId;
      r.message = absl::StrCat("Member ", member_id, " of group '", g.meta.group_id(),
                               "' was replaced by another with group.instance.id '", instance, "'");
    }
  } else if (!g.meta.Has(member_id)) {
    r.error = ErrorCode::kUnknownMemberId;
    r.message = absl::StrCat("Group '", g.meta.group_id(), "' has no member '", member_id, "'");
  }
  return r;
}

// --- Heartbeat, LeaveGroup ---

GroupResult GroupCoordinator::Heartbeat(const HeartbeatRequest& request) {
  GroupResult result;
  std::shared_ptr<Group> g = Lookup(request.group_id, false, false, &result);
  // While loading, Kafka answers a heartbeat blindly with NONE.
  if (result.error == ErrorCode::kCoordinatorLoadInProgress) return GroupResult();
  if (g == nullptr) {
    if (result.error == ErrorCode::kNone) {
      result.error = ErrorCode::kUnknownMemberId;
      result.message = absl::StrCat("Group '", request.group_id, "' does not exist");
    }
    return result;
  }
  Effects fx;
  {
    absl::MutexLock l(&g->mu);
    result = ValidateMember(*g, request.member_id, request.group_instance_id);
    if (result.error != ErrorCode::kNone) {
      // reported below
    } else if (g->meta.state() == GroupState::kEmpty) {
      result.error = ErrorCode::kUnknownMemberId;
      result.message = "The group has no members";
    } else if (request.generation_id != g->meta.generation_id()) {
      result.error = ErrorCode::kIllegalGeneration;
      result.message =
          absl::StrCat("Generation ", request.generation_id, " is not group '", request.group_id,
                       "''s current generation ", g->meta.generation_id());
    } else {
      ScheduleHeartbeat(*g, request.member_id, fx);
      if (g->meta.state() == GroupState::kPreparingRebalance) {
        result.error = ErrorCode::kRebalanceInProgress;
        result.message = absl::StrCat("Group '", request.group_id, "' is rebalancing; join again");
      }
    }
  }
  fx.Run();
  return result;
}

void GroupCoordinator::LeaveGroup(LeaveGroupRequest request,
                                  std::function<void(LeaveGroupResponse)> done) {
  LeaveGroupResponse response;
  std::shared_ptr<Group> g = Lookup(request.group_id, false, false, &response.result);
  if (g == nullptr) {
    if (response.result.error == ErrorCode::kNone) {
      for (LeavingMember& m : request.members) {
        response.members.emplace_back(
            std::move(m),
            GroupResult{ErrorCode::kUnknownMemberId,
                        absl::StrCat("Group '", request.group_id, "' does not exist")});
      }
    }
    return done(std::move(response));
  }
  Effects fx;
  {
    absl::MutexLock l(&g->mu);
    if (g->unloaded || g->meta.state() == GroupState::kDead) {
      response.result = ValidateMember(*g, "", "");
    } else {
      for (LeavingMember& m : request.members) {
        GroupResult r;
        std::string id = m.member_id;
        if (!m.group_instance_id.empty()) {
          const std::optional<std::string> sid = g->meta.StaticMemberId(m.group_instance_id);
          if (!sid) {
            r = {ErrorCode::kUnknownMemberId,
                 absl::StrCat("No member with group.instance.id '", m.group_instance_id, "'")};
          } else if (!m.member_id.empty() && m.member_id != *sid) {
            r = {ErrorCode::kFencedInstanceId,
                 absl::StrCat("Member ", m.member_id, " was replaced by another with ",
                              "group.instance.id '", m.group_instance_id, "'")};
          } else {
            id = *sid;
          }
        }
        if (r.error == ErrorCode::kNone) {
          if (g->pending.erase(id) > 0) {
            g->states.erase(id);
            fx.Add([this, key = purgatory::WatchKey::Member(request.group_id, id)] {
              options_.purgatory->CheckAndComplete(key);
            });
            TryCompleteJoin(*g, /*force=*/false, fx);
          } else if (!g->meta.Has(id)) {
            r = {ErrorCode::kUnknownMemberId,
                 absl::StrCat("Group '", request.group_id, "' has no member '", id, "'")};
          } else {
            RemoveMemberAndUpdateGroup(
                *g, id,
                absl::StrCat("member ", id, " left the group",
                             m.reason.empty() ? std::string() : ": " + m.reason),
                fx);
          }
        }
        response.members.emplace_back(std::move(m), std::move(r));
      }
    }
  }
  fx.Run();
  done(std::move(response));
}

// --- Offsets ---

std::optional<OffsetValue> GroupCoordinator::OffsetRecord(const std::string& group_id,
                                                          const CommittedOffset& o,
                                                          PartitionResult& result,
                                                          Records& records) const {
  result.tp = o.tp;
  if (o.metadata.size() > static_cast<size_t>(options_.offset_metadata_max_bytes) ||
      o.metadata.size() > kMaxRecordStringBytes) {
    result.result = {ErrorCode::kOffsetMetadataTooLarge,
                     absl::StrCat("Metadata of ", o.metadata.size(),
                                  " bytes is over offset.metadata.max.bytes (",
                                  options_.offset_metadata_max_bytes, ")")};
    return std::nullopt;
  }
  if (o.tp.topic.size() > kMaxRecordStringBytes ||
      (options_.partition_exists && !options_.partition_exists(o.tp.topic, o.tp.partition))) {
    result.result = {
        ErrorCode::kUnknownTopicOrPartition,
        absl::StrCat("Partition ", o.tp.topic, "-", o.tp.partition, " does not exist")};
    return std::nullopt;
  }
  OffsetValue v;
  v.offset = o.offset;
  v.leader_epoch = o.leader_epoch;
  v.metadata = o.metadata;
  v.commit_timestamp_ms = options_.clock->NowMs();
  records.emplace_back(EncodeKey(OffsetKey{group_id, o.tp.topic, o.tp.partition}), EncodeValue(v));
  return v;
}

void GroupCoordinator::OffsetCommit(OffsetCommitRequest request,
                                    std::function<void(OffsetCommitResponse)> done) {
  auto fail_all = [&](ErrorCode error, const std::string& message) {
    OffsetCommitResponse r;
    for (const CommittedOffset& o : request.offsets) {
      r.partitions.push_back(PartitionResult{o.tp, GroupResult{error, message}});
    }
    done(std::move(r));
  };
  if (request.group_id.size() > kMaxRecordStringBytes) {
    return fail_all(ErrorCode::kInvalidGroupId,
                    absl::StrCat("The group id is ", request.group_id.size(), " bytes; at most ",
                                 kMaxRecordStringBytes, " are allowed"));
  }
  const bool outside_generations =
      request.generation_id < 0 && request.member_id.empty() && request.group_instance_id.empty();
  GroupResult lookup;
  std::shared_ptr<Group> g = Lookup(request.group_id, /*create=*/request.generation_id < 0,
                                    /*allow_empty_id=*/true, &lookup);
  if (g == nullptr) {
    if (lookup.error != ErrorCode::kNone) return fail_all(lookup.error, lookup.message);
    return fail_all(
        ErrorCode::kIllegalGeneration,
        absl::StrCat("Group '", request.group_id, "' has no generation ", request.generation_id));
  }
  Effects fx;
  {
    absl::MutexLock l(&g->mu);
    GroupResult check;
    if (g->unloaded || g->meta.state() == GroupState::kDead) {
      check = ValidateMember(*g, "", "");
    } else if (!outside_generations) {
      check = ValidateMember(*g, request.member_id, request.group_instance_id);
      if (check.error == ErrorCode::kNone && request.generation_id != g->meta.generation_id()) {
        check = {
            ErrorCode::kIllegalGeneration,
            absl::StrCat("Generation ", request.generation_id, " is not group '", request.group_id,
                         "''s current generation ", g->meta.generation_id())};
      } else if (check.error == ErrorCode::kNone &&
                 g->meta.state() == GroupState::kCompletingRebalance) {
        check = {ErrorCode::kRebalanceInProgress,
                 absl::StrCat("Group '", request.group_id, "' is rebalancing")};
      }
    } else if (g->meta.state() != GroupState::kEmpty) {
      check = {ErrorCode::kUnknownMemberId,
               absl::StrCat("Group '", request.group_id, "' has active members; only a member ",
                            "of its current generation can commit")};
    }
    if (check.error != ErrorCode::kNone) {
      OffsetCommitResponse r;
      for (const CommittedOffset& o : request.offsets) {
        r.partitions.push_back(PartitionResult{o.tp, check});
      }
      fx.Add([done, r = std::move(r)]() mutable { done(std::move(r)); });
    } else {
      if (!outside_generations) ScheduleHeartbeat(*g, request.member_id, fx);
      auto response = std::make_shared<OffsetCommitResponse>();
      Records records;
      std::vector<std::pair<GroupTopicPartition, OffsetValue>> writing;
      for (const CommittedOffset& o : request.offsets) {
        std::optional<OffsetValue> v =
            OffsetRecord(request.group_id, o, response->partitions.emplace_back(), records);
        if (!v) continue;
        ++g->pending_commits[o.tp];
        writing.emplace_back(o.tp, *std::move(v));
      }
      if (records.empty()) {
        fx.Add([done, response] { done(std::move(*response)); });
      } else {
        std::weak_ptr<Group> weak = g;
        WriteRecords(
            g->partition, std::move(records),
            [weak, writing = std::move(writing), response, done](
                ErrorCode error, std::string message, int64_t base_offset) {
              if (std::shared_ptr<Group> gp = weak.lock()) {
                absl::MutexLock l(&gp->mu);
                for (size_t i = 0; i < writing.size(); ++i) {
                  const auto& [tp, v] = writing[i];
                  auto pending = gp->pending_commits.find(tp);
                  // Deleted meanwhile (OffsetDelete, DeleteGroups, a
                  // deleted topic): the tombstone came after it.
                  if (pending == gp->pending_commits.end()) continue;
                  if (--pending->second == 0) gp->pending_commits.erase(pending);
                  if (error != ErrorCode::kNone || gp->unloaded) continue;
                  // Acknowledgements may come out of order: the
                  // record later in the log wins, as on a reload.
                  const int64_t log_offset = base_offset + static_cast<int64_t>(i);
                  auto cached = gp->offsets.find(tp);
                  if (cached == gp->offsets.end() || cached->second.log_offset < log_offset) {
                    gp->offsets[tp] = Group::Committed{v, log_offset, false};
                  }
                }
              }
              const ErrorCode mapped = OffsetWriteError(error);
              for (PartitionResult& pr : response->partitions) {
                if (pr.result.error != ErrorCode::kNone) continue;
                pr.result = {mapped, mapped == ErrorCode::kNone ? "" : message};
              }
              done(std::move(*response));
            },
            fx);
      }
    }
  }
  fx.Run();
}

void GroupCoordinator::TxnOffsetCommit(TxnOffsetCommitRequest request,
                                       std::function<void(OffsetCommitResponse)> done) {
  auto fail_all = [&](ErrorCode error, const std::string& message) {
    OffsetCommitResponse r;
    for (const CommittedOffset& o : request.offsets) {
      r.partitions.push_back(PartitionResult{o.tp, GroupResult{error, message}});
    }
    done(std::move(r));
  };
  if (request.group_id.size() > kMaxRecordStringBytes) {
    return fail_all(ErrorCode::kInvalidGroupId,
                    absl::StrCat("The group id is ", request.group_id.size(), " bytes; at most ",
                                 kMaxRecordStringBytes, " are allowed"));
  }
  if (request.producer_id < 0 || request.producer_epoch < 0) {
    return fail_all(ErrorCode::kInvalidRequest,
                    absl::StrCat("TxnOffsetCommit needs a producer id and epoch (has ",
                                 request.producer_id, " / ", request.producer_epoch, ")"));
  }
  // Kafka creates a group it does not know (a transactional producer may
  // commit for a group that never had members).
  GroupResult lookup;
  std::shared_ptr<Group> g =
      Lookup(request.group_id, /*create=*/true, /*allow_empty_id=*/false, &lookup);
  if (g == nullptr) return fail_all(lookup.error, lookup.message);
  Effects fx;
  {
    absl::MutexLock l(&g->mu);
    GroupResult check;
    if (g->unloaded || g->meta.state() == GroupState::kDead) {
      check = ValidateMember(*g, "", "");
    } else if (!request.group_instance_id.empty() || !request.member_id.empty()) {
      // KIP-447: the member must be the group's (a static one by its
      // instance id), in the group's generation when it names one.
      check = ValidateMember(*g, request.member_id, request.group_instance_id);
    }
    if (check.error == ErrorCode::kNone && request.generation_id >= 0 &&
        request.generation_id != g->meta.generation_id()) {
      check = {ErrorCode::kIllegalGeneration,
               absl::StrCat("Generation ", request.generation_id, " is not group '",
                            request.group_id, "''s current generation ", g->meta.generation_id())};
    }
    if (check.error != ErrorCode::kNone) {
      OffsetCommitResponse r;
      for (const CommittedOffset& o : request.offsets) {
        r.partitions.push_back(PartitionResult{o.tp, check});
      }
      fx.Add([done, r = std::move(r)]() mutable { done(std::move(r)); });
    } else {
      auto response = std::make_shared<OffsetCommitResponse>();
      Records records;
      std::vector<std::pair<GroupTopicPartition, OffsetValue>> writing;
      for (const CommittedOffset& o : request.offsets) {
        std::optional<OffsetValue> v =
            OffsetRecord(request.group_id, o, response->partitions.emplace_back(), records);
        if (!v) continue;
        // Pending from now on: a stable read waits for the transaction.
        g->pending_txn_offsets[request.producer_id][o.tp] =
            Group::Committed{*v, -1, /*transactional=*/true};
        writing.emplace_back(o.tp, *std::move(v));
      }
      if (records.empty()) {
        fx.Add([done, response] { done(std::move(*response)); });
      } else {
        std::weak_ptr<Group> weak = g;
        const int64_t pid = request.producer_id;
        WriteRecords(
            g->partition, std::move(records),
            [weak, pid, writing = std::move(writing), response, done](
                ErrorCode error, std::string message, int64_t base_offset) {
              if (std::shared_ptr<Group> gp = weak.lock()) {
                absl::MutexLock l(&gp->mu);
                auto pending = gp->pending_txn_offsets.find(pid);
                for (size_t i = 0; i < writing.size() && pending != gp->pending_txn_offsets.end();
                     ++i) {
                  auto it = pending->second.find(writing[i].first);
                  if (it == pending->second.end()) continue;
                  if (error != ErrorCode::kNone) {
                    // Kafka's failPendingTxnOffsetCommit: forgotten, unless a
                    // later commit of the same transaction replaced it.
                    if (it->second.log_offset < 0) pending->second.erase(it);
                  } else {
                    it->second.log_offset = base_offset + static_cast<int64_t>(i);
                  }
                }
                if (pending != gp->pending_txn_offsets.end() && pending->second.empty()) {
                  gp->pending_txn_offsets.erase(pending);
                }
              }
              const ErrorCode mapped = OffsetWriteError(error);
              for (PartitionResult& pr : response->partitions) {
                if (pr.result.error != ErrorCode::kNone) continue;
                pr.result = {mapped, mapped == ErrorCode::kNone ? "" : message};
              }
              done(std::move(*response));
            },
            fx, TxnProducer{request.producer_id, request.producer_epoch});
      }
    }
  }
  fx.Run();
}

void GroupCoordinator::OnTxnCompleted(int32_t partition, int64_t producer_id, bool committed) {
  std::vector<std::shared_ptr<Group>> groups;
  {
    absl::MutexLock l(&mu_);
    auto it = partitions_.find(partition);
    if (shutdown_ || it == partitions_.end()) return;
    if (!it->second.loaded) {
      completed_while_loading_[partition].emplace_back(producer_id, committed);
      return;
    }
    for (const auto& [id, g] : groups_) {
      if (g->partition == partition) groups.push_back(g);
    }
  }
  for (const std::shared_ptr<Group>& g : groups) {
    absl::MutexLock l(&g->mu);
    if (!g->unloaded) g->CompleteTxn(producer_id, committed);
  }
}

OffsetFetchResponse GroupCoordinator::OffsetFetch(const OffsetFetchRequest& request) {
  OffsetFetchResponse response;
  std::shared_ptr<Group> g = Lookup(request.group_id, false, true, &response.result);
  if (response.result.error != ErrorCode::kNone) return response;
  if (g == nullptr) {
    if (request.partitions) {
      for (const GroupTopicPartition& tp : *request.partitions) {
        response.offsets.push_back(FetchedOffset{tp, -1, -1, "", ErrorCode::kNone});
      }
    }
    return response;
  }
  absl::MutexLock l(&g->mu);
  if (g->unloaded) {
    response.result = ValidateMember(*g, "", "");
    return response;
  }
  // KIP-447: a consumer asking for stable offsets waits (retries) while a
  // commit of the partition is pending.
  auto unstable = [&](const GroupTopicPartition& tp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g->mu) {
    if (!request.require_stable || !g->HasPendingCommit(tp)) return false;
    response.offsets.push_back(FetchedOffset{tp, -1, -1, "", ErrorCode::kUnstableOffsetCommit});
    return true;
  };
  auto add = [&](const GroupTopicPartition& tp, const Group::Committed& c) {
    response.offsets.push_back(FetchedOffset{tp, c.value.offset, c.value.leader_epoch,
                                            c.value.metadata, ErrorCode::kNone, c.transactional});
  };
  if (!request.partitions) {
    for (const auto& [tp, v] : g->offsets) {
      if (!unstable(tp)) add(tp, v);
    }
    return response;
  }
  for (const GroupTopicPartition& tp : *request.partitions) {
    if (unstable(tp)) continue;
    auto it = g->offsets.find(tp);
    if (it != g->offsets.end()) {
      add(tp, it->second);
    } else {
      response.offsets.push_back(FetchedOffset{tp, -1, -1, "", ErrorCode::kNone});
    }
  }
  return response;
}

// --- Describe, list, delete ---

std::vector<GroupDescription> GroupCoordinator::DescribeGroups(
    const std::vector<std::string>& group_ids) {
  std::vector<GroupDescription> out;
  for (const std::string& id : group_ids) {
    GroupDescription& d = out.emplace_back();
    d.group_id = id;
    std::shared_ptr<Group> g = Lookup(id, false, true, &d.result);
    if (d.result.error != ErrorCode::kNone) continue;
    if (g == nullptr) {
      d.state = GroupStateName(GroupState::kDead);
      continue;
    }
    absl::MutexLock l(&g->mu);
    if (g->unloaded) {
      d.result = ValidateMember(*g, "", "");
      continue;
    }
    d.state = GroupStateName(g->meta.state());
    d.protocol_type = g->meta.protocol_type();
    d.protocol_name = g->meta.protocol_name();
    const bool stable = g->meta.state() == GroupState::kStable;
    for (const auto& [mid, m] : g->meta.members()) {
      DescribedMember& dm = d.members.emplace_back();
      dm.member_id = mid;
      dm.group_instance_id = m.group_instance_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      if (stable) {
        dm.metadata = MemberMetadataFor(m, g->meta.protocol_name());
        dm.assignment = m.assignment;
      }
    }
  }
  return out;
}

ListGroupsResponse GroupCoordinator::ListGroups(const std::vector<std::string>& states) {
  ListGroupsResponse response;
  std::vector<std::shared_ptr<Group>> groups;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [p, state] : partitions_) {
      if (!state.loaded) {
        response.result = {ErrorCode::kCoordinatorLoadInProgress,
                           absl::StrCat("Broker ", options_.broker_id,
                                        " is still loading partition ", p, " of ", kOffsetsTopic)};
      }
    }
    for (const auto& [id, g] : groups_) groups.push_back(g);
  }
  for (const std::shared_ptr<Group>& g : groups) {
    absl::MutexLock l(&g->mu);
    if (g->unloaded || g->meta.state() == GroupState::kDead) continue;
    const std::string state = GroupStateName(g->meta.state());
    const bool wanted =
        states.empty() || std::any_of(states.begin(), states.end(), [&](const std::string& s) {
          return absl::EqualsIgnoreCase(s, state);
        });
    if (wanted)
      response.groups.push_back(ListedGroup{g->meta.group_id(), g->meta.protocol_type(), state});
  }
  return response;
}

void GroupCoordinator::DeleteGroups(std::vector<std::string> group_ids,
                                    std::function<void(std::vector<DeletedGroup>)> done) {
  struct Pending {
    absl::Mutex mu;
    std::vector<DeletedGroup> results;
    int outstanding = 0;
    std::function<void(std::vector<DeletedGroup>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  pending->results.resize(group_ids.size());
  pending->outstanding = static_cast<int>(group_ids.size()) + 1;
  auto finish_one = [pending] {
    std::function<void(std::vector<DeletedGroup>)> cb;
    std::vector<DeletedGroup> results;
    {
      absl::MutexLock l(&pending->mu);
      if (--pending->outstanding > 0) return;
      cb = std::move(pending->done);
      results = std::move(pending->results);
    }
    cb(std::move(results));
  };
  for (size_t i = 0; i < group_ids.size(); ++i) {
    const std::string& id = group_ids[i];
    DeletedGroup result{id, {}};
    std::shared_ptr<Group> g = Lookup(id, false, true, &result.result);
    Records tombstones;
    Effects fx;
    bool writing = false;
    if (result.result.error == ErrorCode::kNone) {
      if (g == nullptr) {
        result.result = {ErrorCode::kGroupIdNotFound,
                         absl::StrCat("Group '", id, "' does not exist")};
      } else {
        absl::MutexLock l(&g->mu);
        if (g->unloaded) {
          result.result = ValidateMember(*g, "", "");
        } else if (g->meta.state() == GroupState::kDead) {
          result.result = {ErrorCode::kGroupIdNotFound,
                           absl::StrCat("Group '", id, "' does not exist")};
        } else if (g->meta.state() != GroupState::kEmpty) {
          result.result = {ErrorCode::kNonEmptyGroup,
                           absl::StrCat("Group '", id, "' is not empty (state ",
                                        GroupStateName(g->meta.state()), ")")};
        } else {
          SetState(g->meta, GroupState::kDead);
          tombstones.emplace_back(EncodeKey(GroupKey{id}), std::nullopt);
          std::set<GroupTopicPartition> tps;
          for (const auto& [tp, c] : g->offsets) tps.insert(tp);
          for (const auto& [tp, n] : g->pending_commits) tps.insert(tp);
          for (const GroupTopicPartition& tp : tps) {
            tombstones.emplace_back(EncodeKey(OffsetKey{id, tp.topic, tp.partition}), std::nullopt);
          }
          g->offsets.clear();
          g->pending_commits.clear();
          WriteRecords(
              g->partition, std::move(tombstones),
              [pending, i, id, finish_one](ErrorCode error, std::string message, int64_t) {
                {
                  absl::MutexLock l(&pending->mu);
                  pending->results[i] =
                      DeletedGroup{id, GroupResult{GroupWriteError(error),
                                                   error == ErrorCode::kNone ? "" : message}};
                }
                finish_one();
              },
              fx);
          writing = true;
        }
      }
    }
    if (!writing) {
      absl::MutexLock l(&pending->mu);
      pending->results[i] = std::move(result);
      --pending->outstanding;
      continue;
    }
    RemoveGroupIfDead(g);
    fx.Run();
  }
  finish_one();
}

void GroupCoordinator::OffsetDelete(OffsetDeleteRequest request,
                                    std::function<void(OffsetDeleteResponse)> done) {
  OffsetDeleteResponse response;
  std::shared_ptr<Group> g = Lookup(request.group_id, false, false, &response.result);
  if (response.result.error != ErrorCode::kNone) return done(std::move(response));
  if (g == nullptr) {
    response.result = {ErrorCode::kGroupIdNotFound,
                       absl::StrCat("Group '", request.group_id, "' does not exist")};
    return done(std::move(response));
  }
  Records tombstones;
  Effects fx;
  bool writing = false;
  {
    absl::MutexLock l(&g->mu);
    const GroupState state = g->meta.state();
    if (g->unloaded) {
      response.result = ValidateMember(*g, "", "");
    } else if (state == GroupState::kDead) {
      response.result = {ErrorCode::kGroupIdNotFound,
                         absl::StrCat("Group '", request.group_id, "' does not exist")};
    } else if (state != GroupState::kEmpty && g->meta.protocol_type() != "consumer") {
      response.result = {ErrorCode::kNonEmptyGroup,
                         absl::StrCat("Group '", request.group_id, "' is not empty")};
    } else {
      std::set<std::string> subscribed;
      if (state != GroupState::kEmpty) {
        for (const auto& [id, m] : g->meta.members()) {
          for (const std::string& t :
               SubscribedTopics(MemberMetadataFor(m, g->meta.protocol_name()))) {
            subscribed.insert(t);
          }
        }
      }
      for (const GroupTopicPartition& tp : request.partitions) {
        PartitionResult& pr = response.partitions.emplace_back();
        pr.tp = tp;
        if (subscribed.contains(tp.topic)) {
          pr.result = {
              ErrorCode::kGroupSubscribedToTopic,
              absl::StrCat("Group '", request.group_id, "' is subscribed to topic ", tp.topic)};
        } else if (g->offsets.erase(tp) + g->pending_commits.erase(tp) > 0) {
          tombstones.emplace_back(EncodeKey(OffsetKey{request.group_id, tp.topic, tp.partition}),
                                  std::nullopt);
        }
      }
      if (!tombstones.empty()) {
        auto shared = std::make_shared<OffsetDeleteResponse>(std::move(response));
        WriteRecords(
            g->partition, std::move(tombstones),
            [shared, done](ErrorCode error, std::string message, int64_t) {
              if (error != ErrorCode::kNone) {
                shared->result = {GroupWriteError(error), std::move(message)};
              }
              done(std::move(*shared));
            },
            fx);
        writing = true;
      }
    }
  }
  if (!writing) return done(std::move(response));
  fx.Run();
}

// --- Durable state ---

GroupValue GroupCoordinator::GroupRecord(
    const Group& g, const std::optional<std::map<std::string, std::string>>& assignment) const {
  GroupValue v;
  v.protocol_type = g.meta.protocol_type();
  v.generation = g.meta.generation_id();
  v.protocol_name = g.meta.protocol_name();
  v.leader = g.meta.leader_id();
  v.current_state_timestamp_ms = g.state_since_ms;
  for (const auto& [id, m] : g.meta.members()) {
    StoredMember& s = v.members.emplace_back();
    s.member_id = id;
    s.group_instance_id = m.group_instance_id;
    s.client_id = m.client_id;
    s.client_host = m.client_host;
    s.rebalance_timeout_ms = m.rebalance_timeout_ms;
    s.session_timeout_ms = m.session_timeout_ms;
    s.subscription = MemberMetadataFor(m, g.meta.protocol_name());
    if (assignment) {
      auto it = assignment->find(id);
      if (it != assignment->end()) s.assignment = it->second;
    } else {
      s.assignment = m.assignment;
    }
  }
  return v;
}

void GroupCoordinator::StoreGroup(
    const std::shared_ptr<Group>& g,
    const std::optional<std::map<std::string, std::string>>& assignment,
    std::function<void(Group&, ErrorCode, Effects&)> then, Effects& fx) {
  Records records;
  records.emplace_back(EncodeKey(GroupKey{g->meta.group_id()}),
                       EncodeValue(GroupRecord(*g, assignment)));
  std::weak_ptr<Group> weak = g;
  WriteRecords(
      g->partition, std::move(records),
      [weak, then = std::move(then)](ErrorCode error, std::string message, int64_t) {
        std::shared_ptr<Group> gp = weak.lock();
        if (gp == nullptr) return;
        if (error != ErrorCode::kNone) {
          LOG(WARNING) << "Storing group " << gp->meta.group_id() << " failed: " << ErrorName(error)
                       << " " << message;
        }
        Effects fx;
        {
          absl::MutexLock l(&gp->mu);
          if (!gp->unloaded) then(*gp, GroupWriteError(error), fx);
        }
        fx.Run();
      },
      fx);
}

// Writes are queued per partition in the order they were decided (under
// the deciding group's lock) and appended in that order by whichever
// thread drains the queue, with no group lock held: the log's order is the
// decisions' order (a commit decided before a deletion lands before its
// tombstone), and an append's acknowledgement, which may run on the
// draining thread, can take any group's lock.
void GroupCoordinator::WriteRecords(int32_t partition, Records records, WriteDone done, Effects& fx,
                                    std::optional<TxnProducer> producer) {
  WriteQueue& q = QueueFor(partition);
  {
    absl::MutexLock l(&q.mu);
    q.items.push_back(PendingWrite{std::move(records), std::move(done), producer});
  }
  fx.Add([this, partition] { DrainWrites(partition); });
}

GroupCoordinator::WriteQueue& GroupCoordinator::QueueFor(int32_t partition) {
  absl::MutexLock l(&queues_mu_);
  std::unique_ptr<WriteQueue>& q = write_queues_[partition];
  if (q == nullptr) q = std::make_unique<WriteQueue>();
  return *q;
}

void GroupCoordinator::DrainWrites(int32_t partition) {
  WriteQueue& q = QueueFor(partition);
  absl::MutexLock l(&q.mu);
  if (q.draining) return;  // that thread appends what was queued, in order
  q.draining = true;
  while (!q.items.empty()) {
    PendingWrite w = std::move(q.items.front());
    q.items.pop_front();
    q.mu.Unlock();
    options_.append(partition,
                    w.producer ? BuildBatch(w.records, options_.clock->NowMs(),
                                            w.producer->producer_id, w.producer->producer_epoch)
                               : BuildBatch(w.records, options_.clock->NowMs()),
                    std::move(w.done));
    q.mu.Lock();
  }
  q.draining = false;
}

void GroupCoordinator::RemoveGroupIfDead(const std::shared_ptr<Group>& g) {
  absl::MutexLock l(&mu_);
  auto it = groups_.find(g->meta.group_id());
  if (it != groups_.end() && it->second == g) groups_.erase(it);
}

// --- Expiry and deleted topics ---

void GroupCoordinator::OnTopicsDeleted(const std::vector<std::string>& topics) {
  const std::set<std::string> deleted(topics.begin(), topics.end());
  std::vector<std::shared_ptr<Group>> groups;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, g] : groups_) groups.push_back(g);
  }
  for (const std::shared_ptr<Group>& g : groups) {
    Records tombstones;
    Effects fx;
    {
      absl::MutexLock l(&g->mu);
      if (g->unloaded) continue;
      std::set<GroupTopicPartition> tps;
      for (const auto& [tp, c] : g->offsets) {
        if (deleted.contains(tp.topic)) tps.insert(tp);
      }
      for (const auto& [tp, n] : g->pending_commits) {
        if (deleted.contains(tp.topic)) tps.insert(tp);
      }
      for (const GroupTopicPartition& tp : tps) {
        tombstones.emplace_back(EncodeKey(OffsetKey{g->meta.group_id(), tp.topic, tp.partition}),
                                std::nullopt);
        g->offsets.erase(tp);
        g->pending_commits.erase(tp);
      }
      if (!tombstones.empty()) {
        WriteRecords(
            g->partition, std::move(tombstones), [](ErrorCode, std::string, int64_t) {}, fx);
      }
    }
    fx.Run();
  }
}

void GroupCoordinator::ExpireOffsets() {
  const int64_t now = options_.clock->NowMs();
  std::vector<std::shared_ptr<Group>> groups;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, g] : groups_) groups.push_back(g);
  }
  for (const std::shared_ptr<Group>& g : groups) {
    Records tombstones;
    bool dead = false;
    Effects fx;
    {
      absl::MutexLock l(&g->mu);
      if (g->unloaded || g->meta.state() != GroupState::kEmpty) continue;
      // A group that never had members keeps each offset for the retention
      // from its commit; one that emptied keeps them all for the retention
      // from when it emptied (KIP-211).
      const bool never_managed = g->meta.protocol_type().empty();
      for (auto it = g->offsets.begin(); it != g->offsets.end();) {
        // A partition with a commit in flight is not expired (Kafka's rule).
        const int64_t base =
            never_managed ? it->second.value.commit_timestamp_ms : g->state_since_ms;
        if (!g->pending_commits.contains(it->first) &&
            base + options_.offsets_retention_ms <= now) {
          tombstones.emplace_back(
              EncodeKey(OffsetKey{g->meta.group_id(), it->first.topic, it->first.partition}),
              std::nullopt);
          it = g->offsets.erase(it);
        } else {
          ++it;
        }
      }
      // An empty group with no offsets left is gone (Kafka's cleanup); one
      // never written (no generation yet) needs no tombstone.
      if (g->offsets.empty() && g->pending_commits.empty() && g->pending_txn_offsets.empty() &&
          g->states.empty()) {
        SetState(g->meta, GroupState::kDead);
        if (g->meta.generation_id() > 0 || !tombstones.empty()) {
          tombstones.emplace_back(EncodeKey(GroupKey{g->meta.group_id()}), std::nullopt);
        }
        dead = true;
      }
      if (!tombstones.empty()) {
        VLOG(1) << "Expiring " << tombstones.size() << " records of group " << g->meta.group_id();
        WriteRecords(
            g->partition, std::move(tombstones), [](ErrorCode, std::string, int64_t) {}, fx);
      }
    }
    if (dead) RemoveGroupIfDead(g);
    fx.Run();
  }
}

// --- Loading and unloading ---

void GroupCoordinator::OnBecameLeader(int32_t partition, int32_t leader_epoch) {
  {
    absl::MutexLock l(&mu_);
    if (shutdown_) return;
    PartitionState& state = partitions_[partition];
    if (state.epoch > leader_epoch) return;
    if (state.loaded) {
      // Re-elected in a newer epoch without a resignation between: what is
      // in memory is still the whole story.
      state.epoch = leader_epoch;
      return;
    }
    state.epoch = leader_epoch;
  }
  absl::MutexLock l(&loader_mu_);
  loader_queue_.push_back([this, partition, leader_epoch] { Load(partition, leader_epoch); });
}

void GroupCoordinator::OnResigned(int32_t partition, int32_t leader_epoch) {
  Unload(partition, leader_epoch);
}

void GroupCoordinator::LoaderLoop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock l(&loader_mu_);
      loader_mu_.Await(absl::Condition(static_cast<const GroupCoordinator*>(this),
                                       &GroupCoordinator::LoaderHasWork));
      if (loader_stop_) return;
      task = std::move(loader_queue_.front());
      loader_queue_.pop_front();
    }
    task();
  }
}

bool GroupCoordinator::LoaderHasWork() const { return loader_stop_ || !loader_queue_.empty(); }

void GroupCoordinator::Load(int32_t partition, int32_t epoch) {
  auto still_wanted = [&] {
    absl::MutexLock l(&mu_);
    auto it = partitions_.find(partition);
    return !shutdown_ && it != partitions_.end() && it->second.epoch == epoch && !it->second.loaded;
  };
  if (!still_wanted()) return;
  const int64_t started = options_.clock->NowMs();
  std::map<std::string, std::optional<GroupValue>> group_values;
  std::map<std::string, std::map<GroupTopicPartition, Group::Committed>> offsets;
  // Offsets of transactions whose marker is not read yet: producer id ->
  // group -> partition.
  using GroupOffsets = std::map<std::string, std::map<GroupTopicPartition, Group::Committed>>;
  std::map<int64_t, GroupOffsets> pending_txn;
  int64_t offset = 0;
  int64_t records_read = 0;
  for (int attempts = 0;;) {
    replication::FetchResult r = options_.read(partition, offset);
    if (r.error == ErrorCode::kOffsetOutOfRange && r.log_start_offset > offset) {
      offset = r.log_start_offset;  // the log starts later (retention, compaction)
      continue;
    }
    if (r.error != ErrorCode::kNone) {
      if (!still_wanted()) return;  // lost meanwhile: the resignation unloads
      // A read failed: retry after a pause, and after a few, let the other
      // partitions' loads go first and try again from the start.
      if (++attempts > 5) {
        LOG(WARNING) << "Loading partition " << partition << " of " << kOffsetsTopic << " failed ("
                     << ErrorName(r.error) << " " << r.message << "); trying again";
        absl::MutexLock l(&loader_mu_);
        loader_queue_.push_back([this, partition, epoch] { Load(partition, epoch); });
        return;
      }
      absl::SleepFor(absl::Milliseconds(100 * attempts));
      continue;
    }
    if (r.records.empty()) break;
    record::BatchIterator batches(r.records);
    record::BatchHeader header;
    std::string_view batch;
    bool any = false;
    while (batches.Next(&header, &batch)) {
      any = true;
      offset = header.next_offset().value();
      if (header.is_control()) {
        // A transaction's end: its offsets become committed ones, in log
        // order, or go.
        absl::StatusOr<record::EndTxnMarker> marker = record::ReadEndTxnMarker(batch);
        auto done = pending_txn.find(header.producer_id);
        if (!marker.ok() || done == pending_txn.end()) continue;
        if (marker->type == record::ControlType::kCommit) {
          for (auto& [group, tps] : done->second) {
            for (auto& [tp, c] : tps) {
              auto& committed = offsets[group];
              auto cached = committed.find(tp);
              if (cached == committed.end() || cached->second.log_offset < c.log_offset) {
                committed[tp] = std::move(c);
              }
            }
          }
        }
        pending_txn.erase(done);
        continue;
      }
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
      if (!records.ok()) {
        LOG(ERROR) << "Skipping an unreadable batch at offset " << header.base_offset.value()
                   << " of " << kOffsetsTopic << "-" << partition << ": " << records.status();
        continue;
      }
      for (const record::Record& rec : *records) {
        ++records_read;
        // The record's own offset: a compacted batch may skip offsets.
        const int64_t record_offset = rec.offset.value();
        if (!rec.key) continue;
        absl::StatusOr<RecordKey> key = DecodeKey(*rec.key);
        if (!key.ok()) {
          // Newer Kafka's record types (KIP-848 and after) are not ours.
          if (!IsUnknownKeyVersion(key.status())) {
            LOG(WARNING) << "Skipping a record of " << kOffsetsTopic << "-" << partition << ": "
                         << key.status();
          }
          continue;
        }
        if (const OffsetKey* ok = std::get_if<OffsetKey>(&*key)) {
          const GroupTopicPartition tp{ok->topic, ok->partition};
          if (!rec.value) {
            offsets[ok->group].erase(tp);
            continue;
          }
          absl::StatusOr<OffsetValue> v = DecodeOffsetValue(*rec.value);
          if (v.ok() && header.is_transactional()) {
            pending_txn[header.producer_id][ok->group][tp] =
                Group::Committed{*std::move(v), record_offset, /*transactional=*/true};
          } else if (v.ok()) {
            offsets[ok->group][tp] = Group::Committed{*std::move(v), record_offset, false};
          } else {
            LOG(WARNING) << "Skipping an offset of group " << ok->group << ": " << v.status();
          }
        } else if (const GroupKey* gk = std::get_if<GroupKey>(&*key)) {
          if (!rec.value) {
            // Offsets have tombstones of their own (Kafka's rule).
            group_values[gk->group] = std::nullopt;
            continue;
          }
          absl::StatusOr<GroupValue> v = DecodeGroupValue(*rec.value);
          if (v.ok()) {
            group_values[gk->group] = *std::move(v);
          } else {
            LOG(WARNING) << "Skipping the metadata of group " << gk->group << ": " << v.status();
          }
        }
      }
    }
    if (!any || offset >= r.log_end_offset) break;
  }

  // Build the groups.
  std::map<std::string, std::shared_ptr<Group>> loaded;
  const int64_t now = options_.clock->NowMs();
  for (auto& [id, v] : group_values) {
    if (!v) continue;
    std::vector<MemberMetadata> members;
    for (StoredMember& s : v->members) {
      MemberMetadata& m = members.emplace_back();
      m.member_id = std::move(s.member_id);
      m.group_instance_id = std::move(s.group_instance_id);
      m.client_id = std::move(s.client_id);
      m.client_host = std::move(s.client_host);
      m.rebalance_timeout_ms = s.rebalance_timeout_ms;
      m.session_timeout_ms = s.session_timeout_ms;
      m.protocol_type = v->protocol_type;
      m.protocols.emplace_back(v->protocol_name, std::move(s.subscription));
      m.assignment = std::move(s.assignment);
    }
    std::shared_ptr<Group> g =
        MakeGroup(GroupMetadata::Restore(id, v->generation, v->protocol_type, v->protocol_name,
                                         v->leader, std::move(members)),
                  partition);
    {
      absl::MutexLock l(&g->mu);
      g->state_since_ms = v->current_state_timestamp_ms >= 0 ? v->current_state_timestamp_ms : now;
    }
    loaded.emplace(id, std::move(g));
  }
  auto group_of = [&](const std::string& id) -> Group& {
    auto [it, inserted] = loaded.try_emplace(id, nullptr);
    if (inserted) it->second = MakeGroup(GroupMetadata(id), partition);
    return *it->second;
  };
  for (auto& [id, tps] : offsets) {
    if (tps.empty()) continue;
    Group& g = group_of(id);
    absl::MutexLock l(&g.mu);
    g.offsets = std::move(tps);
  }
  // Transactions still open: their offsets stay pending.
  for (auto& [pid, groups] : pending_txn) {
    for (auto& [id, tps] : groups) {
      Group& g = group_of(id);
      absl::MutexLock l(&g.mu);
      g.pending_txn_offsets[pid] = std::move(tps);
    }
  }

  std::vector<std::pair<int64_t, bool>> completed;
  {
    absl::MutexLock l(&mu_);
    auto it = partitions_.find(partition);
    if (shutdown_ || it == partitions_.end() || it->second.epoch != epoch) return;
    it->second.loaded = true;
    for (auto& [id, g] : loaded) groups_[id] = g;
    if (auto c = completed_while_loading_.find(partition); c != completed_while_loading_.end()) {
      completed = std::move(c->second);
      completed_while_loading_.erase(c);
    }
  }
  // Markers written while the partition loaded (the load may have read
  // them too: completing again changes nothing).
  for (const auto& [pid, committed] : completed) {
    for (auto& [id, g] : loaded) {
      absl::MutexLock l(&g->mu);
      g->CompleteTxn(pid, committed);
    }
  }
  // Members restored from the log get a fresh session to come back in.
  for (auto& [id, g] : loaded) {
    Effects fx;
    {
      absl::MutexLock l(&g->mu);
      for (const auto& [mid, m] : g->meta.members()) ScheduleHeartbeat(*g, mid, fx);
    }
    fx.Run();
  }
  LOG(INFO) << "Loaded " << loaded.size() << " groups (" << records_read << " records) of "
            << kOffsetsTopic << "-" << partition << " in epoch " << epoch << " in "
            << options_.clock->NowMs() - started << " ms";
}

void GroupCoordinator::Unload(int32_t partition, int32_t epoch) {
  std::vector<std::shared_ptr<Group>> unloaded;
  {
    absl::MutexLock l(&mu_);
    auto it = partitions_.find(partition);
    // A resignation names the new epoch, or the last one led: never one
    // below what was loaded, unless a newer leadership came meanwhile.
    if (it == partitions_.end() || it->second.epoch > epoch) return;
    partitions_.erase(it);
    completed_while_loading_.erase(partition);
    for (auto g = groups_.begin(); g != groups_.end();) {
      if (g->second->partition == partition) {
        unloaded.push_back(g->second);
        g = groups_.erase(g);
      } else {
        ++g;
      }
    }
  }
  for (const std::shared_ptr<Group>& g : unloaded) {
    Effects fx;
    {
      absl::MutexLock l(&g->mu);
      g->unloaded = true;
      ++g->join_epoch;
      for (auto& [id, st] : g->states) {
        fx.Fail(st.join, ErrorCode::kNotCoordinator, "The group's coordinator moved", id);
        fx.Fail(st.sync, ErrorCode::kNotCoordinator, "The group's coordinator moved");
        fx.Add([this, key = purgatory::WatchKey::Member(g->meta.group_id(), id)] {
          options_.purgatory->CheckAndComplete(key);
        });
      }
      g->states.clear();
      fx.Add([this, key = purgatory::WatchKey::Group(g->meta.group_id())] {
        options_.purgatory->CheckAndComplete(key);
      });
    }
    fx.Run();
  }
  if (!unloaded.empty()) {
    LOG(INFO) << "Unloaded " << unloaded.size() << " groups of " << kOffsetsTopic << "-"
              << partition;
  }
}

}  // namespace strata::group
