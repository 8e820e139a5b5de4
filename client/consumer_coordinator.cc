#include "client/consumer_coordinator.h"

#include <algorithm>
#include <utility>

#include "client/consumer_protocol.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "glog/logging.h"

namespace strata::client {
namespace {

constexpr char kProtocolType[] = "consumer";

std::vector<TopicPartition> Sorted(const std::set<TopicPartition>& s) {
  return std::vector<TopicPartition>(s.begin(), s.end());
}

std::string Names(const std::vector<TopicPartition>& tps) {
  std::string out;
  for (const TopicPartition& tp : tps) out += (out.empty() ? "" : ", ") + tp.ToString();
  return out;
}

// How long one call may take: the rest of the caller's time, within
// request.timeout.ms, and never so short that it cannot be answered.
absl::Duration CallTimeout(absl::Time deadline, absl::Duration request_timeout) {
  return std::clamp(deadline - absl::Now(), absl::Milliseconds(200), request_timeout);
}

bool SameMembership(const std::string& id_a, int32_t gen_a, const std::string& id_b,
                    int32_t gen_b) {
  return id_a == id_b && gen_a == gen_b;
}

}  // namespace

absl::Status CommitFailedError(v1::ErrorCode code, const std::string& detail) {
  return ErrorToStatus(
      code,
      fmt::format("CommitFailedException: Commit cannot be completed since the group has already "
                  "rebalanced and assigned the partitions to another member. This means that the "
                  "time between subsequent calls to poll() was longer than the configured "
                  "max.poll.interval.ms, which typically implies that the poll loop is spending "
                  "too much time message processing. You can address this either by increasing "
                  "max.poll.interval.ms or by reducing the maximum size of batches returned in "
                  "poll() with max.poll.records. ({}: {})",
                  ErrorName(code), detail));
}

ConsumerCoordinator::ConsumerCoordinator(GroupOptions options,
                                         std::vector<std::unique_ptr<PartitionAssignor>> assignors,
                                         GroupRpc* rpc, RebalanceHost* host)
    : options_(std::move(options)), assignors_(std::move(assignors)), rpc_(rpc), host_(host) {
  CHECK(!assignors_.empty());
  next_auto_commit_ = absl::Now() + options_.auto_commit_interval;
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
}

ConsumerCoordinator::~ConsumerCoordinator() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  rpc_->CancelAll();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  rpc_->CancelAll();
}

// --- Subscription ---

void ConsumerCoordinator::SetSubscription(std::set<std::string> topics) {
  subscribed_ = true;
  if (topics == subscription_) return;
  subscription_ = std::move(topics);
  RequestRejoin("the subscription changed");
}

std::set<std::string> ConsumerCoordinator::TopicsOfInterest() const {
  std::set<std::string> out = subscription_;
  if (leader_) out.insert(group_topics_.begin(), group_topics_.end());
  return out;
}

void ConsumerCoordinator::CheckPartitionCounts(const std::map<std::string, int32_t>& counts) {
  if (!leader_ || phase_ != Phase::kIdle) return;
  for (const std::string& topic : group_topics_) {
    auto now = counts.find(topic);
    auto then = assigned_counts_.find(topic);
    const int32_t n = now == counts.end() ? 0 : now->second;
    const int32_t m = then == assigned_counts_.end() ? 0 : then->second;
    if (n != m) {
      RequestRejoin(fmt::format("topic {} has {} partitions, the assignment used {}", topic, n, m));
      return;
    }
  }
}

// --- Poll ---

absl::Status ConsumerCoordinator::Poll(absl::Time deadline, bool wait_for_join) {
  {
    absl::MutexLock lock(&mu_);
    last_poll_ = absl::Now();
    if (!fatal_.ok()) {
      absl::Status s = fatal_;
      fatal_ = absl::OkStatus();
      return s;
    }
  }
  RunCompletedCommits();
  if (subscribed_) {
    ReportLostIfReset();
    absl::Status s = EnsureActiveGroup(deadline, wait_for_join);
    if (!s.ok()) return s;
  }
  MaybeAutoCommit(absl::Now());
  return absl::OkStatus();
}

absl::Status ConsumerCoordinator::EnsureActiveGroup(absl::Time deadline, bool wait) {
  while (true) {
    if (phase_ == Phase::kIdle) {
      if (!RejoinNeeded()) return absl::OkStatus();
      if (absl::Now() < backoff_until_) {
        if (!wait || backoff_until_ >= deadline) return absl::OkStatus();
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithDeadline(absl::Condition(&interrupt_), backoff_until_);
        if (interrupt_) {
          interrupt_ = false;
          return absl::OkStatus();
        }
        continue;
      }
      absl::Status s = EnsureCoordinator(deadline);
      // Not allowed to use the group: no retry helps (Kafka's
      // GroupAuthorizationException ends the poll).
      if (IsAuthorizationFailure(ErrorCodeOf(s))) return s;
      if (!s.ok()) {
        VLOG(1) << "Group " << options_.group_id << ": no coordinator yet: " << s;
        backoff_until_ = absl::Now() + options_.retry_backoff;
        continue;
      }
      PrepareJoin();
      SendJoin();
    }
    std::optional<absl::StatusOr<v1::JoinGroupResponse>> join;
    std::optional<absl::StatusOr<v1::SyncGroupResponse>> sync;
    {
      absl::MutexLock lock(&mu_);
      const bool joining = phase_ == Phase::kJoining;
      auto ready = [this, joining]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return interrupt_ || stop_ ||
               (joining ? join_answer_.has_value() : sync_answer_.has_value());
      };
      if (wait) mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
      if (interrupt_) {
        interrupt_ = false;
        return absl::OkStatus();
      }
      if (joining && join_answer_) {
        join = std::move(join_answer_);
        join_answer_.reset();
      } else if (!joining && sync_answer_) {
        sync = std::move(sync_answer_);
        sync_answer_.reset();
      } else {
        return absl::OkStatus();  // still in flight: a later Poll goes on
      }
    }
    absl::Status s = join ? HandleJoin(*std::move(join)) : HandleSync(*std::move(sync));
    if (!s.ok()) return s;
  }
}

absl::Status ConsumerCoordinator::EnsureCoordinator(absl::Time deadline) {
  if (coordinator_known()) return absl::OkStatus();
  return LookupCoordinator(
      CallTimeout(deadline, std::min(options_.request_timeout, absl::Seconds(10))));
}

void ConsumerCoordinator::PrepareJoin() {
  if (join_prepared_) return;
  ReportLostIfReset();
  std::vector<TopicPartition> revoke;
  for (const TopicPartition& tp : owned_) {
    // Eager: everything. Cooperative: only what the consumer no longer
    // subscribes to; the rest is kept through the rebalance.
    if (!Cooperative() || !subscription_.contains(tp.topic)) revoke.push_back(tp);
  }
  if (!revoke.empty()) RevokeAndCommit(revoke);
  join_prepared_ = true;
}

void ConsumerCoordinator::SendJoin() {
  ReportLostIfReset();
  Membership m;
  std::string target;
  uint64_t epoch = 0;
  {
    absl::MutexLock lock(&mu_);
    m = membership_;
    target = coordinator_.value_or("");
    state_ = MemberState::kPreparingRebalance;
    rejoin_needed_ = false;
    join_answer_.reset();
    epoch = ++call_epoch_;
  }
  v1::JoinGroupRequest request;
  request.set_group_id(options_.group_id);
  request.set_session_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.session_timeout)));
  request.set_rebalance_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.rebalance_timeout)));
  request.set_member_id(m.member_id);
  request.set_group_instance_id(options_.group_instance_id);
  request.set_protocol_type(kProtocolType);
  request.set_client_id(options_.client_id);
  for (const auto& assignor : assignors_) {
    ConsumerSubscription sub;
    sub.topics.assign(subscription_.begin(), subscription_.end());
    sub.user_data = assignor->SubscriptionUserData(subscription_);
    sub.has_user_data = !sub.user_data.empty();
    sub.owned_partitions = Sorted(owned_);
    sub.generation_id = owned_.empty() ? m.generation : owned_generation_;
    v1::JoinGroupProtocol* p = request.add_protocols();
    p->set_name(assignor->name());
    p->set_metadata(EncodeSubscription(sub));
  }
  joined_subscription_ = subscription_;
  phase_ = Phase::kJoining;
  VLOG(1) << "Group " << options_.group_id << ": joining as '" << m.member_id << "'";
  rpc_->JoinGroup(target, request, options_.rebalance_timeout + absl::Seconds(5),
                  [this, epoch](absl::StatusOr<v1::JoinGroupResponse> answer) {
                    {
                      absl::MutexLock lock(&mu_);
                      if (epoch != call_epoch_) return;
                      join_answer_ = std::move(answer);
                    }
                    host_->Nudge();
                  });
}

absl::Status ConsumerCoordinator::HandleJoin(absl::StatusOr<v1::JoinGroupResponse> answer) {
  phase_ = Phase::kIdle;
  const absl::Time now = absl::Now();
  if (!answer.ok()) {
    VLOG(1) << "Group " << options_.group_id << ": JoinGroup failed: " << answer.status();
    MarkCoordinatorUnknown("JoinGroup failed");
    backoff_until_ = now + options_.retry_backoff;
    return absl::OkStatus();
  }
  const v1::JoinGroupResponse& r = *answer;
  switch (r.error()) {
    case v1::NONE:
      break;
    case v1::MEMBER_ID_REQUIRED: {
      // KIP-394: join again, at once, with the id the coordinator gave.
      absl::MutexLock lock(&mu_);
      membership_.member_id = r.member_id();
      return absl::OkStatus();
    }
    case v1::UNKNOWN_MEMBER_ID: {
      absl::MutexLock lock(&mu_);
      ResetMembership("JoinGroup: unknown member id", /*keep_member_id=*/false);
      return absl::OkStatus();
    }
    case v1::ILLEGAL_GENERATION: {
      absl::MutexLock lock(&mu_);
      ResetMembership("JoinGroup: illegal generation", /*keep_member_id=*/true);
      return absl::OkStatus();
    }
    case v1::FENCED_INSTANCE_ID: {
      absl::MutexLock lock(&mu_);
      ResetMembership("JoinGroup: fenced", /*keep_member_id=*/false);
      return ErrorToStatus(r.error(), r.error_message());
    }
    case v1::NOT_COORDINATOR:
    case v1::COORDINATOR_NOT_AVAILABLE:
      MarkCoordinatorUnknown(r.error_message());
      backoff_until_ = now + options_.retry_backoff;
      return absl::OkStatus();
    case v1::COORDINATOR_LOAD_IN_PROGRESS:
    case v1::REBALANCE_IN_PROGRESS:
    case v1::REQUEST_TIMED_OUT:
      backoff_until_ = now + options_.retry_backoff;
      return absl::OkStatus();
    default: {
      // INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT,
      // GROUP_MAX_SIZE_REACHED, INVALID_GROUP_ID, ...: the join cannot
      // succeed as it is; the caller hears of it, a later Poll tries again.
      return JoinAgainLater(ErrorToStatus(
          r.error(), r.error_message().empty()
                         ? fmt::format("JoinGroup of group {} failed", options_.group_id)
                         : r.error_message()));
    }
  }

  PartitionAssignor* assignor = AssignorNamed(r.protocol_name());
  if (assignor == nullptr) {
    return JoinAgainLater(
        ErrorToStatus(v1::INCONSISTENT_GROUP_PROTOCOL,
                      fmt::format("The group chose assignor '{}', which this consumer does "
                                  "not have",
                                  r.protocol_name())));
  }
  joined_protocol_ = r.protocol_name();
  uint64_t epoch = 0;
  std::string target;
  {
    absl::MutexLock lock(&mu_);
    membership_ = Membership{r.member_id(), r.generation_id()};
    state_ = MemberState::kCompletingRebalance;
    next_heartbeat_ = now + options_.heartbeat_interval;
    sync_answer_.reset();
    epoch = ++call_epoch_;
    target = coordinator_.value_or("");
  }
  syncing_ = Membership{r.member_id(), r.generation_id()};
  leader_ = r.leader() == r.member_id();

  v1::SyncGroupRequest request;
  request.set_group_id(options_.group_id);
  request.set_generation_id(r.generation_id());
  request.set_member_id(r.member_id());
  request.set_group_instance_id(options_.group_instance_id);
  request.set_protocol_type(kProtocolType);
  request.set_protocol_name(r.protocol_name());
  if (leader_ && !r.skip_assignment()) {
    std::vector<v1::SyncGroupAssignment> assignments;
    absl::Status s = ComputeAssignment(r, assignor, &assignments);
    if (!s.ok()) {
      return JoinAgainLater(s);
    }
    for (auto& a : assignments) *request.add_assignments() = std::move(a);
  }
  VLOG(1) << "Group " << options_.group_id << ": joined generation " << r.generation_id() << " as "
          << r.member_id() << (leader_ ? " (leader)" : "");
  phase_ = Phase::kSyncing;
  rpc_->SyncGroup(target, request, options_.rebalance_timeout + absl::Seconds(5),
                  [this, epoch](absl::StatusOr<v1::SyncGroupResponse> answer) {
                    {
                      absl::MutexLock lock(&mu_);
                      if (epoch != call_epoch_) return;
                      sync_answer_ = std::move(answer);
                    }
                    host_->Nudge();
                  });
  return absl::OkStatus();
}

absl::Status ConsumerCoordinator::ComputeAssignment(const v1::JoinGroupResponse& response,
                                                    PartitionAssignor* assignor,
                                                    std::vector<v1::SyncGroupAssignment>* out) {
  std::map<std::string, ConsumerSubscription> subscriptions;
  std::set<std::string> topics;
  for (const v1::JoinGroupResponseMember& m : response.members()) {
    absl::StatusOr<ConsumerSubscription> sub = DecodeSubscription(m.metadata());
    if (!sub.ok()) {
      // A member whose subscription does not parse gets nothing rather
      // than stopping the whole group.
      LOG(WARNING) << "Group " << options_.group_id << ": member " << m.member_id()
                   << " sent a subscription that does not parse: " << sub.status();
      subscriptions[m.member_id()] = ConsumerSubscription();
      continue;
    }
    topics.insert(sub->topics.begin(), sub->topics.end());
    subscriptions[m.member_id()] = *std::move(sub);
  }
  std::map<std::string, int32_t> counts = host_->PartitionCounts(topics);
  std::map<std::string, ConsumerAssignment> assignment = assignor->Assign(counts, subscriptions);
  group_topics_ = std::move(topics);
  assigned_counts_ = std::move(counts);
  for (auto& [member, a] : assignment) {
    v1::SyncGroupAssignment& s = out->emplace_back();
    s.set_member_id(member);
    s.set_assignment(EncodeAssignment(a));
  }
  return absl::OkStatus();
}

absl::Status ConsumerCoordinator::HandleSync(absl::StatusOr<v1::SyncGroupResponse> answer) {
  phase_ = Phase::kIdle;
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (!SameMembership(membership_.member_id, membership_.generation, syncing_.member_id,
                        syncing_.generation)) {
      // The heartbeat thread ended this generation meanwhile; join again.
      return absl::OkStatus();
    }
  }
  if (!answer.ok()) {
    VLOG(1) << "Group " << options_.group_id << ": SyncGroup failed: " << answer.status();
    MarkCoordinatorUnknown("SyncGroup failed");
    return JoinAgainLater(absl::OkStatus());
  }
  const v1::SyncGroupResponse& r = *answer;
  switch (r.error()) {
    case v1::NONE:
      break;
    case v1::REBALANCE_IN_PROGRESS: {
      absl::MutexLock lock(&mu_);
      state_ = MemberState::kUnjoined;
      return absl::OkStatus();
    }
    case v1::UNKNOWN_MEMBER_ID:
    case v1::ILLEGAL_GENERATION:
    case v1::FENCED_INSTANCE_ID: {
      absl::MutexLock lock(&mu_);
      ResetMembership("SyncGroup: " + ErrorName(r.error()),
                      /*keep_member_id=*/r.error() == v1::ILLEGAL_GENERATION);
      if (r.error() == v1::FENCED_INSTANCE_ID) return ErrorToStatus(r.error(), r.error_message());
      return absl::OkStatus();
    }
    case v1::NOT_COORDINATOR:
    case v1::COORDINATOR_NOT_AVAILABLE:
    case v1::COORDINATOR_LOAD_IN_PROGRESS:
    case v1::REQUEST_TIMED_OUT: {
      if (r.error() != v1::COORDINATOR_LOAD_IN_PROGRESS) MarkCoordinatorUnknown(r.error_message());
      return JoinAgainLater(absl::OkStatus());
    }
    default: {
      return JoinAgainLater(ErrorToStatus(r.error(), r.error_message()));
    }
  }
  absl::StatusOr<ConsumerAssignment> assignment = DecodeAssignment(r.assignment());
  if (!assignment.ok()) {
    return JoinAgainLater(
        absl::Status(assignment.status().code(),
                     fmt::format("The assignment of group {} does not parse: {}", options_.group_id,
                                 std::string(assignment.status().message()))));
  }
  PartitionAssignor* assignor =
      AssignorNamed(r.protocol_name().empty() ? joined_protocol_ : r.protocol_name());
  if (assignor != nullptr) assignor->OnAssignment(*assignment, syncing_.generation);
  {
    absl::MutexLock lock(&mu_);
    state_ = MemberState::kStable;
    next_heartbeat_ = now + options_.heartbeat_interval;
  }
  join_prepared_ = false;
  owned_generation_ = syncing_.generation;

  const std::set<TopicPartition> next(assignment->partitions.begin(), assignment->partitions.end());
  std::vector<TopicPartition> revoked;
  std::vector<TopicPartition> added;
  for (const TopicPartition& tp : owned_) {
    if (!next.contains(tp)) revoked.push_back(tp);
  }
  for (const TopicPartition& tp : next) {
    if (!owned_.contains(tp)) added.push_back(tp);
  }
  VLOG(1) << "Group " << options_.group_id << ": generation " << syncing_.generation << " assigns ["
          << Names(Sorted(next)) << "] to " << syncing_.member_id;
  if (!revoked.empty()) {
    RevokeAndCommit(revoked);
    // KIP-429: the partitions given up this round are assigned in the
    // rebalance that follows.
    if (Cooperative()) RequestRejoin("partitions were revoked");
  }
  owned_ = next;
  host_->PartitionsAssigned(added);
  if (subscription_ != joined_subscription_) {
    RequestRejoin("the subscription changed during the rebalance");
  }
  return absl::OkStatus();
}

void ConsumerCoordinator::ReportLostIfReset() {
  {
    absl::MutexLock lock(&mu_);
    if (!membership_lost_) return;
    membership_lost_ = false;
  }
  if (owned_.empty()) return;
  std::vector<TopicPartition> lost = Sorted(owned_);
  owned_.clear();
  join_prepared_ = false;
  LOG(INFO) << "Group " << options_.group_id << ": lost partitions [" << Names(lost)
            << "] with the membership";
  host_->PartitionsLost(lost);
}

void ConsumerCoordinator::RevokeAndCommit(const std::vector<TopicPartition>& partitions) {
  if (options_.auto_commit) {
    std::map<TopicPartition, int64_t> positions = host_->ConsumedPositions();
    std::map<TopicPartition, int64_t> offsets;
    for (const TopicPartition& tp : partitions) {
      auto it = positions.find(tp);
      if (it != positions.end()) offsets.emplace(tp, it->second);
    }
    absl::Status s = CommitSync(offsets, absl::Now() + options_.request_timeout);
    if (!s.ok()) {
      LOG(WARNING) << "Group " << options_.group_id
                   << ": committing offsets before revoking partitions failed: " << s;
    }
  }
  for (const TopicPartition& tp : partitions) owned_.erase(tp);
  host_->PartitionsRevoked(partitions);
}

void ConsumerCoordinator::MaybeAutoCommit(absl::Time now) {
  if (!options_.auto_commit || now < next_auto_commit_) return;
  next_auto_commit_ = now + options_.auto_commit_interval;
  if (subscribed_ && state() != MemberState::kStable) return;
  {
    // One commit at a time: gRPC calls keep no order between them, so a
    // later commit could otherwise be overtaken by an earlier one.
    absl::MutexLock lock(&mu_);
    if (async_commits_in_flight_ > 0) return;
  }
  std::map<TopicPartition, int64_t> positions = host_->ConsumedPositions();
  if (positions.empty()) return;
  CommitAsync(positions, [group = options_.group_id](const absl::Status& s,
                                                     const std::map<TopicPartition, int64_t>&) {
    if (!s.ok()) LOG(WARNING) << "Group " << group << ": asynchronous auto-commit failed: " << s;
  });
}

void ConsumerCoordinator::RunCompletedCommits() {
  std::vector<std::function<void()>> done;
  {
    absl::MutexLock lock(&mu_);
    done.swap(completed_commits_);
  }
  for (auto& f : done) f();
}

// --- Commits ---

absl::StatusOr<ConsumerCoordinator::Membership> ConsumerCoordinator::CommitGeneration() const {
  if (!subscribed_) return Membership{"", -1};
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case MemberState::kStable:
      return membership_;
    case MemberState::kPreparingRebalance:
    case MemberState::kCompletingRebalance:
      return CommitFailedError(v1::REBALANCE_IN_PROGRESS,
                               fmt::format("group {} is rebalancing", options_.group_id));
    case MemberState::kUnjoined:
      break;
  }
  return CommitFailedError(
      v1::UNKNOWN_MEMBER_ID,
      fmt::format("the consumer is not a member of group {} now", options_.group_id));
}

absl::Status ConsumerCoordinator::HandleCommitResponse(
    const v1::OffsetCommitResponse& response, const Membership& membership, bool subscribed,
    std::map<TopicPartition, int64_t>* remaining) {
  absl::Status fatal;
  bool coordinator_gone = false;
  bool rejoin = false;
  {
    absl::MutexLock lock(&mu_);
    const bool current = SameMembership(membership_.member_id, membership_.generation,
                                        membership.member_id, membership.generation);
    for (const v1::OffsetCommitTopicResponse& t : response.topics()) {
      for (const v1::OffsetCommitPartitionResponse& p : t.partitions()) {
        const TopicPartition tp{t.name(), PartitionId(p.partition_index())};
        switch (p.error()) {
          case v1::NONE:
            remaining->erase(tp);
            break;
          case v1::NOT_COORDINATOR:
          case v1::COORDINATOR_NOT_AVAILABLE:
          case v1::REQUEST_TIMED_OUT:
            coordinator_gone = true;
            break;
          case v1::COORDINATOR_LOAD_IN_PROGRESS:
            break;
          case v1::UNKNOWN_MEMBER_ID:
          case v1::ILLEGAL_GENERATION:
            if (subscribed && current) {
              ResetMembership("OffsetCommit: " + ErrorName(p.error()),
                              /*keep_member_id=*/p.error() == v1::ILLEGAL_GENERATION);
              rejoin = true;
            }
            fatal.Update(CommitFailedError(p.error(), p.error_message()));
            break;
          case v1::REBALANCE_IN_PROGRESS:
            if (subscribed && current) {
              rejoin_needed_ = true;
              rejoin = true;
            }
            fatal.Update(CommitFailedError(p.error(), p.error_message()));
            break;
          case v1::FENCED_INSTANCE_ID:
            if (subscribed && current) {
              ResetMembership("OffsetCommit: fenced", /*keep_member_id=*/false);
              rejoin = true;
            }
            fatal.Update(ErrorToStatus(p.error(), p.error_message()));
            break;
          default:
            fatal.Update(ErrorToStatus(
                p.error(), fmt::format("Committing the offset of {} failed: {}", tp.ToString(),
                                       p.error_message().empty() ? DefaultErrorMessage(p.error())
                                                                 : p.error_message())));
            break;
        }
      }
    }
    if (coordinator_gone) coordinator_.reset();
  }
  if (rejoin) host_->Nudge();
  return fatal;
}

absl::Status ConsumerCoordinator::JoinAgainLater(absl::Status status) {
  absl::MutexLock lock(&mu_);
  state_ = MemberState::kUnjoined;
  backoff_until_ = absl::Now() + options_.retry_backoff;
  return status;
}

absl::Status ConsumerCoordinator::CommitSync(const std::map<TopicPartition, int64_t>& offsets,
                                             absl::Time deadline) {
  {
    // Commits in flight first, so none of them lands after this one (a
    // committed offset must not go back).
    absl::MutexLock lock(&mu_);
    auto idle = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return async_commits_in_flight_ == 0; };
    mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  }
  RunCompletedCommits();
  std::map<TopicPartition, int64_t> remaining = offsets;
  absl::Status last;
  while (!remaining.empty()) {
    absl::StatusOr<Membership> membership = CommitGeneration();
    if (!membership.ok()) return membership.status();
    absl::Status s = EnsureCoordinator(deadline);
    if (!s.ok()) {
      last = s;
    } else {
      std::string target;
      {
        absl::MutexLock lock(&mu_);
        target = coordinator_.value_or("");
      }
      v1::OffsetCommitRequest request = BuildCommit(remaining, *membership);
      absl::StatusOr<v1::OffsetCommitResponse> response =
          CallAndWait<v1::OffsetCommitResponse>([&](RpcDone<v1::OffsetCommitResponse> done) {
            rpc_->OffsetCommit(target, request, CallTimeout(deadline, options_.request_timeout),
                               std::move(done));
          });
      if (!response.ok()) {
        MarkCoordinatorUnknown("OffsetCommit failed");
        last = response.status();
      } else {
        s = HandleCommitResponse(*response, *membership, subscribed_, &remaining);
        if (!s.ok()) return s;
        if (remaining.empty()) break;
        last = absl::UnavailableError("the coordinator is not available");
      }
    }
    if (absl::Now() + options_.retry_backoff >= deadline) {
      std::string names;
      for (const auto& [tp, offset] : remaining) {
        names += (names.empty() ? "" : ", ") + tp.ToString();
      }
      return absl::DeadlineExceededError(
          fmt::format("Timeout expired before successfully committing offsets of [{}]: {}", names,
                      std::string(last.message())));
    }
    absl::SleepFor(options_.retry_backoff);
  }
  return absl::OkStatus();
}

v1::OffsetCommitRequest ConsumerCoordinator::BuildCommit(
    const std::map<TopicPartition, int64_t>& offsets, const Membership& membership) const {
  v1::OffsetCommitRequest request;
  request.set_group_id(options_.group_id);
  request.set_generation_id(membership.generation);
  request.set_member_id(membership.member_id);
  if (subscribed_) request.set_group_instance_id(options_.group_instance_id);
  v1::OffsetCommitTopic* topic = nullptr;
  for (const auto& [tp, offset] : offsets) {
    if (topic == nullptr || topic->name() != tp.topic) {
      topic = request.add_topics();
      topic->set_name(tp.topic);
    }
    v1::OffsetCommitPartition* p = topic->add_partitions();
    p->set_partition_index(tp.partition.value());
    p->set_committed_offset(offset);
    p->set_committed_leader_epoch(-1);
  }
  return request;
}

void ConsumerCoordinator::CommitAsync(const std::map<TopicPartition, int64_t>& offsets,
                                      CommitCallback callback) {
  auto finish = [this, callback, offsets](absl::Status s) {
    if (!callback) return;
    absl::MutexLock lock(&mu_);
    completed_commits_.push_back([callback, offsets, s] { callback(s, offsets); });
  };
  if (offsets.empty()) return finish(absl::OkStatus());
  absl::StatusOr<Membership> membership = CommitGeneration();
  if (!membership.ok()) return finish(membership.status());
  if (!coordinator_known()) {
    absl::Status s = LookupCoordinator(std::min(options_.request_timeout, absl::Seconds(5)));
    if (!s.ok()) return finish(s);
  }
  std::string target;
  {
    absl::MutexLock lock(&mu_);
    target = coordinator_.value_or("");
    ++async_commits_in_flight_;
  }
  const bool subscribed = subscribed_;
  rpc_->OffsetCommit(
      target, BuildCommit(offsets, *membership), options_.request_timeout,
      [this, offsets, callback, subscribed,
       m = *membership](absl::StatusOr<v1::OffsetCommitResponse> response) {
        absl::Status s;
        if (!response.ok()) {
          MarkCoordinatorUnknown("OffsetCommit failed");
          s = response.status();
        } else {
          std::map<TopicPartition, int64_t> remaining = offsets;
          s = HandleCommitResponse(*response, m, subscribed, &remaining);
          if (s.ok() && !remaining.empty()) {
            s = ErrorToStatus(v1::COORDINATOR_NOT_AVAILABLE,
                              "The coordinator is not available; the commit may be retried");
          }
        }
        absl::MutexLock lock(&mu_);
        if (callback) {
          completed_commits_.push_back([callback, offsets, s] { callback(s, offsets); });
        }
        --async_commits_in_flight_;
      });
}

absl::StatusOr<std::map<TopicPartition, int64_t>> ConsumerCoordinator::FetchCommitted(
    const std::set<TopicPartition>& partitions, absl::Time deadline) {
  std::map<TopicPartition, int64_t> out;
  if (partitions.empty()) return out;
  v1::OffsetFetchRequest request;
  request.set_group_id(options_.group_id);
  v1::OffsetFetchTopic* topic = nullptr;
  for (const TopicPartition& tp : partitions) {
    if (topic == nullptr || topic->name() != tp.topic) {
      topic = request.add_topics();
      topic->set_name(tp.topic);
    }
    topic->add_partition_indexes(tp.partition.value());
  }
  absl::Status last;
  while (true) {
    absl::Status s = EnsureCoordinator(deadline);
    if (!s.ok()) {
      last = s;
    } else {
      std::string target;
      {
        absl::MutexLock lock(&mu_);
        target = coordinator_.value_or("");
      }
      absl::StatusOr<v1::OffsetFetchResponse> response =
          CallAndWait<v1::OffsetFetchResponse>([&](RpcDone<v1::OffsetFetchResponse> done) {
            rpc_->OffsetFetch(target, request, CallTimeout(deadline, options_.request_timeout),
                              std::move(done));
          });
      if (!response.ok()) {
        MarkCoordinatorUnknown("OffsetFetch failed");
        last = response.status();
      } else if (response->error() == v1::NOT_COORDINATOR ||
                 response->error() == v1::COORDINATOR_NOT_AVAILABLE) {
        MarkCoordinatorUnknown(response->error_message());
        last = ErrorToStatus(response->error(), response->error_message());
      } else if (response->error() == v1::COORDINATOR_LOAD_IN_PROGRESS) {
        last = ErrorToStatus(response->error(), response->error_message());
      } else if (response->error() != v1::NONE) {
        return ErrorToStatus(response->error(), response->error_message());
      } else {
        for (const v1::OffsetFetchTopicResponse& t : response->topics()) {
          for (const v1::OffsetFetchPartitionResponse& p : t.partitions()) {
            const TopicPartition tp{t.name(), PartitionId(p.partition_index())};
            if (p.error() != v1::NONE && p.error() != v1::UNKNOWN_TOPIC_OR_PARTITION) {
              return ErrorToStatus(p.error(), fmt::format("Fetching the committed offset of {} "
                                                          "failed",
                                                          tp.ToString()));
            }
            if (p.error() == v1::NONE && p.committed_offset() >= 0) {
              out[tp] = p.committed_offset();
            }
          }
        }
        return out;
      }
    }
    if (absl::Now() + options_.retry_backoff >= deadline) {
      return absl::DeadlineExceededError(
          fmt::format("Timeout expired before fetching the committed offsets of group {}: {}",
                      options_.group_id, std::string(last.message())));
    }
    absl::SleepFor(options_.retry_backoff);
  }
}

// --- Leaving ---

void ConsumerCoordinator::LeaveGroupNow(const std::string& reason, absl::Time deadline,
                                        bool report_lost) {
  Membership m;
  std::optional<std::string> target;
  {
    absl::MutexLock lock(&mu_);
    m = membership_;
    target = coordinator_;
  }
  // A static member stays in the group until its session ends (KIP-345):
  // coming back under the same group.instance.id keeps its partitions.
  if (options_.group_instance_id.empty() && !m.member_id.empty() && target) {
    LOG(INFO) << "Group " << options_.group_id << ": member " << m.member_id
              << " leaves the group: " << reason;
    v1::LeaveGroupRequest request;
    request.set_group_id(options_.group_id);
    v1::MemberIdentity* id = request.add_members();
    id->set_member_id(m.member_id);
    id->set_reason(reason);
    absl::StatusOr<v1::LeaveGroupResponse> response =
        CallAndWait<v1::LeaveGroupResponse>([&](RpcDone<v1::LeaveGroupResponse> done) {
          rpc_->LeaveGroup(*target, request, CallTimeout(deadline, options_.request_timeout),
                           std::move(done));
        });
    if (!response.ok() || response->error() != v1::NONE) {
      VLOG(1) << "Group " << options_.group_id << ": LeaveGroup failed: "
              << (response.ok() ? response->error_message()
                                : std::string(response.status().message()));
    }
  }
  absl::MutexLock lock(&mu_);
  if (SameMembership(membership_.member_id, membership_.generation, m.member_id, m.generation)) {
    ResetMembership(reason, /*keep_member_id=*/false);
    if (!report_lost) membership_lost_ = false;
  }
}

void ConsumerCoordinator::Unsubscribe(absl::Time deadline) {
  if (!subscribed_) return;
  RunCompletedCommits();
  ReportLostIfReset();
  if (!owned_.empty()) {
    if (state() == MemberState::kStable) {
      RevokeAndCommit(Sorted(owned_));
    } else {
      std::vector<TopicPartition> lost = Sorted(owned_);
      owned_.clear();
      host_->PartitionsLost(lost);
    }
  }
  LeaveGroupNow("the consumer unsubscribed from all topics", deadline, /*report_lost=*/false);
  {
    absl::MutexLock lock(&mu_);
    ++call_epoch_;  // answers of a join in flight are dropped
    ResetMembership("unsubscribed", /*keep_member_id=*/false);
    membership_lost_ = false;
  }
  subscribed_ = false;
  subscription_.clear();
  joined_subscription_.clear();
  phase_ = Phase::kIdle;
  join_prepared_ = false;
  leader_ = false;
  group_topics_.clear();
  assigned_counts_.clear();
}

void ConsumerCoordinator::Close(absl::Time deadline) {
  if (closed_) return;
  closed_ = true;
  RunCompletedCommits();
  if (options_.auto_commit && (!subscribed_ || state() == MemberState::kStable)) {
    absl::Status s = CommitSync(host_->ConsumedPositions(), deadline);
    if (!s.ok()) {
      LOG(WARNING) << "Group " << options_.group_id
                   << ": committing offsets on close failed: " << s;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    auto idle = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return async_commits_in_flight_ == 0; };
    mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  }
  RunCompletedCommits();
  if (subscribed_) {
    ReportLostIfReset();
    if (!owned_.empty()) {
      std::vector<TopicPartition> parts = Sorted(owned_);
      owned_.clear();
      if (state() == MemberState::kStable) {
        host_->PartitionsRevoked(parts);
      } else {
        host_->PartitionsLost(parts);
      }
    }
    LeaveGroupNow("the consumer is being closed", deadline, /*report_lost=*/false);
  }
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    ++call_epoch_;
  }
  rpc_->CancelAll();  // a heartbeat in flight ends now
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  rpc_->CancelAll();
}

void ConsumerCoordinator::Wakeup() {
  absl::MutexLock lock(&mu_);
  interrupt_ = true;
}

// --- State ---

MemberState ConsumerCoordinator::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

int32_t ConsumerCoordinator::generation() const {
  absl::MutexLock lock(&mu_);
  return membership_.generation;
}

std::string ConsumerCoordinator::member_id() const {
  absl::MutexLock lock(&mu_);
  return membership_.member_id;
}

bool ConsumerCoordinator::RejoinNeeded() const {
  absl::MutexLock lock(&mu_);
  return rejoin_needed_ || state_ != MemberState::kStable;
}

bool ConsumerCoordinator::coordinator_known() const {
  absl::MutexLock lock(&mu_);
  return coordinator_.has_value();
}

PartitionAssignor* ConsumerCoordinator::AssignorNamed(const std::string& name) const {
  for (const auto& a : assignors_) {
    if (a->name() == name) return a.get();
  }
  return nullptr;
}

bool ConsumerCoordinator::Cooperative() const {
  // Kafka's rule: the protocol every configured assignor supports. With
  // "range,cooperative-sticky" (the default) that is eager.
  return std::all_of(assignors_.begin(), assignors_.end(), [](const auto& a) {
    return a->protocol() == RebalanceProtocol::kCooperative;
  });
}

// --- Shared helpers ---

absl::Status ConsumerCoordinator::LookupCoordinator(absl::Duration timeout) {
  v1::FindCoordinatorRequest request;
  request.set_key_type(0);
  request.add_keys(options_.group_id);
  absl::StatusOr<v1::FindCoordinatorResponse> response =
      CallAndWait<v1::FindCoordinatorResponse>([&](RpcDone<v1::FindCoordinatorResponse> done) {
        rpc_->FindCoordinator(request, timeout, std::move(done));
      });
  if (!response.ok()) return response.status();
  if (response->coordinators().empty()) {
    return ErrorToStatus(v1::COORDINATOR_NOT_AVAILABLE, "FindCoordinator named no coordinator");
  }
  const v1::Coordinator& c = response->coordinators(0);
  if (c.error() != v1::NONE) return ErrorToStatus(c.error(), c.error_message());
  const std::string target = fmt::format("{}:{}", c.host(), c.port());
  VLOG(1) << "Group " << options_.group_id << ": coordinator is node " << c.node_id() << " at "
          << target;
  absl::MutexLock lock(&mu_);
  coordinator_ = target;
  return absl::OkStatus();
}

void ConsumerCoordinator::MarkCoordinatorUnknown(const std::string& why) {
  absl::MutexLock lock(&mu_);
  if (coordinator_) {
    VLOG(1) << "Group " << options_.group_id << ": coordinator " << *coordinator_
            << " unknown: " << why;
  }
  coordinator_.reset();
}

void ConsumerCoordinator::ResetMembership(const std::string& reason, bool keep_member_id) {
  VLOG(1) << "Group " << options_.group_id << ": membership of " << membership_.member_id
          << " in generation " << membership_.generation << " ends: " << reason;
  membership_.generation = -1;
  if (!keep_member_id) membership_.member_id.clear();
  state_ = MemberState::kUnjoined;
  rejoin_needed_ = true;
  membership_lost_ = true;
}

void ConsumerCoordinator::RequestRejoin(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (!rejoin_needed_) VLOG(1) << "Group " << options_.group_id << ": rejoin: " << reason;
    rejoin_needed_ = true;
  }
  host_->Nudge();
}

void ConsumerCoordinator::HeartbeatLoop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    const bool active =
        (state_ == MemberState::kStable || state_ == MemberState::kCompletingRebalance) &&
        !membership_.member_id.empty();
    const absl::Time wake =
        active ? next_heartbeat_
               : absl::Now() + std::min(options_.heartbeat_interval, absl::Milliseconds(500));
    mu_.AwaitWithDeadline(absl::Condition(&stop_), wake);
    if (stop_) break;
    const bool still_active =
        (state_ == MemberState::kStable || state_ == MemberState::kCompletingRebalance) &&
        !membership_.member_id.empty();
    if (!still_active || absl::Now() < next_heartbeat_) continue;
    mu_.Unlock();
    HeartbeatOnce();
    mu_.Lock();
  }
}

void ConsumerCoordinator::HeartbeatOnce() {
  const absl::Time now = absl::Now();
  Membership m;
  std::optional<std::string> target;
  absl::Time last_poll;
  {
    absl::MutexLock lock(&mu_);
    m = membership_;
    target = coordinator_;
    last_poll = last_poll_;
    next_heartbeat_ = now + options_.heartbeat_interval;
  }
  if (now - last_poll > options_.rebalance_timeout) {
    LOG(WARNING) << "Group " << options_.group_id
                 << ": consumer poll timeout has expired. This means the time between "
                    "subsequent calls to poll() was longer than the configured "
                    "max.poll.interval.ms, which typically implies that the poll loop is "
                    "spending too much time processing messages. Leaving the group.";
    LeaveGroupNow("consumer poll timeout has expired", now + options_.request_timeout,
                  /*report_lost=*/true);
    host_->Nudge();
    return;
  }
  const absl::Duration timeout = std::min(options_.request_timeout, options_.session_timeout);
  if (!target) {
    absl::Status s = LookupCoordinator(timeout);
    if (!s.ok()) {
      absl::MutexLock lock(&mu_);
      next_heartbeat_ = now + options_.retry_backoff;
    } else {
      absl::MutexLock lock(&mu_);
      next_heartbeat_ = now;  // send the heartbeat at once
    }
    return;
  }
  v1::HeartbeatRequest request;
  request.set_group_id(options_.group_id);
  request.set_generation_id(m.generation);
  request.set_member_id(m.member_id);
  request.set_group_instance_id(options_.group_instance_id);
  absl::StatusOr<v1::HeartbeatResponse> response =
      CallAndWait<v1::HeartbeatResponse>([&](RpcDone<v1::HeartbeatResponse> done) {
        rpc_->Heartbeat(*target, request, timeout, std::move(done));
      });
  bool nudge = false;
  {
    absl::MutexLock lock(&mu_);
    if (!SameMembership(membership_.member_id, membership_.generation, m.member_id, m.generation)) {
      return;  // the membership moved on while the heartbeat was out
    }
    if (!response.ok()) {
      VLOG(1) << "Group " << options_.group_id << ": heartbeat failed: " << response.status();
      coordinator_.reset();
      next_heartbeat_ = absl::Now() + options_.retry_backoff;
      return;
    }
    switch (response->error()) {
      case v1::NONE:
        break;
      case v1::REBALANCE_IN_PROGRESS:
        if (!rejoin_needed_) {
          VLOG(1) << "Group " << options_.group_id << ": the group is rebalancing";
        }
        rejoin_needed_ = true;
        nudge = true;
        break;
      case v1::ILLEGAL_GENERATION:
      case v1::UNKNOWN_MEMBER_ID:
        ResetMembership("Heartbeat: " + ErrorName(response->error()),
                        /*keep_member_id=*/response->error() == v1::ILLEGAL_GENERATION);
        nudge = true;
        break;
      case v1::FENCED_INSTANCE_ID:
        ResetMembership("Heartbeat: fenced", /*keep_member_id=*/false);
        fatal_ = ErrorToStatus(response->error(), response->error_message());
        nudge = true;
        break;
      case v1::NOT_COORDINATOR:
      case v1::COORDINATOR_NOT_AVAILABLE:
        coordinator_.reset();
        next_heartbeat_ = absl::Now() + options_.retry_backoff;
        break;
      default:
        VLOG(1) << "Group " << options_.group_id << ": heartbeat answered "
                << ErrorName(response->error()) << ": " << response->error_message();
        next_heartbeat_ = absl::Now() + options_.retry_backoff;
        break;
    }
  }
  if (nudge) host_->Nudge();
}

}  // namespace strata::client
