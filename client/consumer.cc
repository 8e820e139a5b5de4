#include "client/consumer.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "client/errors.h"
#include "client/fetch_decoder.h"
#include "client/leader_requests.h"
#include "fmt/format.h"
#include "grpcpp/client_context.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {

// One Fetch request to one broker.
struct Consumer::FetchCall {
  int64_t id = 0;
  int32_t node = -1;
  std::string target;
  std::unique_ptr<v1::Broker::Stub> stub;
  grpc::ClientContext ctx;
  v1::FetchRequest request;
  v1::FetchResponse response;
  grpc::Status status;
  bool answered = false;
  // The seek epoch of each partition when the request was built.
  std::map<TopicPartition, uint64_t> epochs;
};

namespace {

constexpr int32_t kMaxPartitionFetchBytesCap = 64 << 20;
// Fetch answers a partition may hold unhanded (PartitionState::buffered).
constexpr size_t kMaxBufferedAnswers = 2;
constexpr int64_t kEarliest = -2;
constexpr int64_t kLatest = -1;

}  // namespace

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerConfig config) {
  absl::StatusOr<std::vector<std::string>> bootstrap =
      ParseBootstrapServers(config.bootstrap_servers);
  if (!bootstrap.ok()) return bootstrap.status();
  std::vector<std::unique_ptr<PartitionAssignor>> assignors;
  if (!config.group_id.empty()) {
    absl::StatusOr<std::vector<std::unique_ptr<PartitionAssignor>>> made =
        MakeAssignors(config.partition_assignment_strategy);
    if (!made.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("Invalid value {} for configuration partition.assignment.strategy: {}",
                      config.partition_assignment_strategy, std::string(made.status().message())));
    }
    assignors = *std::move(made);
  }
  if (config.client_id.empty()) {
    static std::atomic<int> sequence{1};
    const int n = sequence.fetch_add(1);
    config.client_id = config.group_id.empty() ? fmt::format("consumer-{}", n)
                                               : fmt::format("consumer-{}-{}", config.group_id, n);
  }
  std::unique_ptr<Consumer> consumer(new Consumer(std::move(config), *std::move(bootstrap)));
  if (absl::Status s = consumer->pool_.status(); !s.ok()) return s;
  if (!consumer->config_.group_id.empty()) {
    const ConsumerConfig& c = consumer->config_;
    GroupOptions options;
    options.group_id = c.group_id;
    options.group_instance_id = c.group_instance_id;
    options.client_id = c.client_id;
    options.session_timeout = c.session_timeout;
    options.heartbeat_interval = c.heartbeat_interval;
    options.rebalance_timeout = c.max_poll_interval;
    options.retry_backoff = c.retry_backoff;
    options.request_timeout = c.request_timeout;
    options.auto_commit = c.enable_auto_commit;
    options.auto_commit_interval = c.auto_commit_interval;
    consumer->group_rpc_ = MakeGrpcGroupRpc(&consumer->pool_, consumer->bootstrap_);
    consumer->coordinator_ = std::make_unique<ConsumerCoordinator>(
        std::move(options), std::move(assignors), consumer->group_rpc_.get(),
        static_cast<RebalanceHost*>(consumer.get()));
  }
  return consumer;
}

Consumer::Consumer(ConsumerConfig config, std::vector<std::string> bootstrap)
    : config_(std::move(config)),
      bootstrap_(bootstrap),
      pool_(config_.security, config_.client_id),
      metadata_(std::move(bootstrap), &pool_, config_.request_timeout) {}

Consumer::~Consumer() {
  Close();
  coordinator_.reset();
  group_rpc_.reset();
  absl::MutexLock lock(&mu_);
  for (auto& [id, call] : in_flight_) {
    if (!call->answered) call->ctx.TryCancel();
  }
  auto all_answered = +[](Consumer* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
    for (const auto& [id, call] : c->in_flight_) {
      if (!call->answered) return false;
    }
    return true;
  };
  mu_.Await(absl::Condition(all_answered, this));
}

void Consumer::Assign(const std::vector<TopicPartition>& partitions) {
  if (coordinator_ && coordinator_->subscribed()) Unsubscribe();
  absl::btree_map<TopicPartition, PartitionState> next;
  for (const TopicPartition& tp : partitions) {
    auto it = partitions_.find(tp);
    if (it != partitions_.end()) next.emplace(tp, std::move(it->second));
  }
  partitions_ = std::move(next);
  for (const TopicPartition& tp : partitions) {
    if (!partitions_.contains(tp)) AddPartition(tp);
  }
  (void)metadata_.Refresh(AssignedTopics());
  last_metadata_refresh_ = absl::Now();
}

void Consumer::AddPartition(const TopicPartition& tp) {
  PartitionState state;
  state.max_bytes = config_.max_partition_fetch_bytes;
  state.seek_epoch = ++next_seek_epoch_;
  state.awaiting_committed = coordinator_ != nullptr;
  partitions_.emplace(tp, std::move(state));
}

absl::Status Consumer::RequireGroup() const {
  if (coordinator_ != nullptr) return absl::OkStatus();
  // Kafka's InvalidGroupIdException text.
  return absl::InvalidArgumentError(
      "To use the group management or offset commit APIs, you must provide a valid group.id in "
      "the consumer configuration.");
}

absl::Status Consumer::Subscribe(const std::vector<std::string>& topics,
                                 ConsumerRebalanceListener* listener) {
  absl::Status s = RequireGroup();
  if (!s.ok()) return s;
  if (topics.empty()) {
    Unsubscribe();
    return absl::OkStatus();
  }
  if (!coordinator_->subscribed() && !partitions_.empty()) {
    return absl::FailedPreconditionError(
        "Subscription to topics, partitions and pattern are mutually exclusive");
  }
  for (const std::string& t : topics) {
    if (t.empty())
      return absl::InvalidArgumentError(
          "Topic collection to subscribe to cannot "
          "contain null or empty topic");
  }
  listener_ = listener;
  pattern_.reset();
  coordinator_->SetSubscription(std::set<std::string>(topics.begin(), topics.end()));
  next_subscription_refresh_ = absl::InfinitePast();
  return absl::OkStatus();
}

absl::Status Consumer::Subscribe(const std::regex& pattern, ConsumerRebalanceListener* listener) {
  absl::Status s = RequireGroup();
  if (!s.ok()) return s;
  if (!coordinator_->subscribed() && !partitions_.empty()) {
    return absl::FailedPreconditionError(
        "Subscription to topics, partitions and pattern are mutually exclusive");
  }
  listener_ = listener;
  pattern_ = pattern;
  if (!coordinator_->subscribed()) coordinator_->SetSubscription({});
  next_subscription_refresh_ = absl::InfinitePast();
  MaybeRefreshSubscription(absl::Now());
  return absl::OkStatus();
}

void Consumer::Unsubscribe() {
  if (coordinator_ == nullptr || !coordinator_->subscribed()) return;
  coordinator_->Unsubscribe(absl::Now() + config_.request_timeout);
  partitions_.clear();
  pattern_.reset();
  listener_ = nullptr;
}

std::set<std::string> Consumer::Subscription() const {
  if (coordinator_ == nullptr || !coordinator_->subscribed()) return {};
  return coordinator_->subscription();
}

absl::StatusOr<std::vector<std::string>> Consumer::ListTopics() {
  v1::MetadataRequest request;  // no topics: all of them
  v1::MetadataResponse response;
  absl::Status s = CallAnyNode(bootstrap_, &preferred_node_, [&](const std::string& target) {
    auto stub = v1::Broker::NewStub(pool_.Get(target));
    grpc::ClientContext ctx;
    ctx.set_deadline(
        std::chrono::system_clock::now() +
        absl::ToChronoMilliseconds(std::min(config_.request_timeout, absl::Seconds(10))));
    response.Clear();
    return FromGrpcStatus(stub->Metadata(&ctx, request, &response), target);
  });
  if (!s.ok()) return s;
  std::vector<std::string> out;
  for (const auto& t : response.topics()) {
    // Internal topics (__consumer_offsets, ...) never match a pattern, as
    // with Kafka's exclude.internal.topics=true.
    if (t.internal() || t.error() != v1::NONE) continue;
    out.push_back(t.name());
  }
  return out;
}

void Consumer::MaybeRefreshSubscription(absl::Time now) {
  if (coordinator_ == nullptr || !coordinator_->subscribed() || now < next_subscription_refresh_) {
    return;
  }
  absl::Time next = now + config_.metadata_max_age;
  if (pattern_) {
    absl::StatusOr<std::vector<std::string>> topics = ListTopics();
    if (topics.ok()) {
      std::set<std::string> matching;
      for (const std::string& t : *topics) {
        if (std::regex_match(t, *pattern_)) matching.insert(t);
      }
      coordinator_->SetSubscription(std::move(matching));
    } else {
      next = std::min(next, now + std::max(config_.retry_backoff, absl::Seconds(1)));
    }
  }
  const std::set<std::string> interest = coordinator_->TopicsOfInterest();
  if (!interest.empty()) {
    std::map<std::string, int32_t> counts = PartitionCounts(interest);
    coordinator_->CheckPartitionCounts(counts);
    for (const std::string& t : coordinator_->subscription()) {
      if (!counts.contains(t)) next = std::min(next, now + absl::Seconds(1));
    }
  }
  next_subscription_refresh_ = next;
}

std::map<std::string, int32_t> Consumer::PartitionCounts(const std::set<std::string>& topics) {
  std::map<std::string, int32_t> out;
  if (topics.empty()) return out;
  (void)metadata_.Refresh(std::vector<std::string>(topics.begin(), topics.end()));
  for (const std::string& t : topics) {
    std::optional<TopicInfo> info = metadata_.Topic(t);
    if (!info || info->error != v1::NONE || info->partitions.empty()) continue;
    out[t] = static_cast<int32_t>(info->partitions.size());
  }
  return out;
}

std::map<TopicPartition, int64_t> Consumer::ConsumedPositions() {
  std::map<TopicPartition, int64_t> out;
  for (const auto& [tp, state] : partitions_) {
    if (state.position) out[tp] = *state.position;
  }
  return out;
}

void Consumer::PartitionsRevoked(const std::vector<TopicPartition>& partitions) {
  if (listener_ != nullptr && !partitions.empty()) listener_->OnPartitionsRevoked(partitions);
  for (const TopicPartition& tp : partitions) partitions_.erase(tp);
}

void Consumer::PartitionsAssigned(const std::vector<TopicPartition>& partitions) {
  for (const TopicPartition& tp : partitions) {
    if (!partitions_.contains(tp)) AddPartition(tp);
  }
  if (!partitions.empty()) {
    (void)metadata_.Refresh(AssignedTopics());
    last_metadata_refresh_ = absl::Now();
  }
  if (listener_ != nullptr) listener_->OnPartitionsAssigned(partitions);
}

void Consumer::PartitionsLost(const std::vector<TopicPartition>& partitions) {
  if (listener_ != nullptr && !partitions.empty()) listener_->OnPartitionsLost(partitions);
  for (const TopicPartition& tp : partitions) partitions_.erase(tp);
}

void Consumer::Nudge() {
  absl::MutexLock lock(&mu_);
  nudged_ = true;
  answered_cv_.SignalAll();
}

absl::Status Consumer::CommitSync() {
  absl::Status s = RequireGroup();
  if (!s.ok()) return s;
  return coordinator_->CommitSync(ConsumedPositions(), absl::Now() + config_.request_timeout);
}

absl::Status Consumer::CommitSync(const std::map<TopicPartition, int64_t>& offsets) {
  absl::Status s = RequireGroup();
  if (!s.ok()) return s;
  return coordinator_->CommitSync(offsets, absl::Now() + config_.request_timeout);
}

void Consumer::CommitAsync(CommitCallback callback) {
  CommitAsync(ConsumedPositions(), std::move(callback));
}

void Consumer::CommitAsync(const std::map<TopicPartition, int64_t>& offsets,
                           CommitCallback callback) {
  if (coordinator_ == nullptr) {
    if (callback) callback(RequireGroup(), offsets);
    return;
  }
  coordinator_->CommitAsync(offsets, std::move(callback));
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::Committed(
    const std::set<TopicPartition>& partitions) {
  absl::Status s = RequireGroup();
  if (!s.ok()) return s;
  return coordinator_->FetchCommitted(partitions, absl::Now() + config_.request_timeout);
}

void Consumer::Close(absl::Duration timeout) {
  if (closed_) return;
  closed_ = true;
  if (coordinator_ != nullptr) coordinator_->Close(absl::Now() + timeout);
}

std::string Consumer::MemberId() const {
  return coordinator_ == nullptr ? std::string() : coordinator_->member_id();
}

int32_t Consumer::Generation() const {
  return coordinator_ == nullptr ? -1 : coordinator_->generation();
}

void Consumer::FetchCommittedPositions(absl::Time deadline) {
  if (coordinator_ == nullptr) return;
  const absl::Time now = absl::Now();
  std::set<TopicPartition> wanted;
  for (const auto& [tp, state] : partitions_) {
    if (state.awaiting_committed && !state.position && state.committed_backoff_until <= now) {
      wanted.insert(tp);
    }
  }
  if (wanted.empty()) return;
  absl::StatusOr<std::map<TopicPartition, int64_t>> committed =
      coordinator_->FetchCommitted(wanted, deadline);
  for (const TopicPartition& tp : wanted) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end() || !it->second.awaiting_committed) continue;
    if (!committed.ok()) {
      // Tried again after retry.backoff.ms; auto.offset.reset must not
      // apply to a partition that may have a committed offset.
      it->second.committed_backoff_until = absl::Now() + config_.retry_backoff;
      continue;
    }
    auto c = committed->find(tp);
    if (c != committed->end()) {
      SetPosition(it->second, c->second);
    } else {
      it->second.awaiting_committed = false;  // auto.offset.reset decides
    }
  }
}

std::vector<TopicPartition> Consumer::Assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : partitions_) out.push_back(tp);
  return out;
}

std::vector<std::string> Consumer::AssignedTopics() const {
  std::vector<std::string> topics;
  for (const auto& [tp, state] : partitions_) {
    if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
  }
  return topics;
}

void Consumer::SetPosition(PartitionState& state, int64_t offset) {
  state.position = offset;
  state.fetch_offset = offset;
  state.buffered.clear();
  state.seek_epoch = ++next_seek_epoch_;
  state.awaiting_committed = false;
}

void Consumer::Seek(const TopicPartition& tp, int64_t offset) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return;
  SetPosition(it->second, offset);
}

absl::Status Consumer::SeekToBeginning(const std::vector<TopicPartition>& partitions) {
  absl::StatusOr<std::map<TopicPartition, int64_t>> offsets =
      ListOffsets(partitions.empty() ? Assignment() : partitions, kEarliest);
  if (!offsets.ok()) return offsets.status();
  for (const auto& [tp, offset] : *offsets) Seek(tp, offset);
  return absl::OkStatus();
}

absl::Status Consumer::SeekToEnd(const std::vector<TopicPartition>& partitions) {
  absl::StatusOr<std::map<TopicPartition, int64_t>> offsets =
      ListOffsets(partitions.empty() ? Assignment() : partitions, kLatest);
  if (!offsets.ok()) return offsets.status();
  for (const auto& [tp, offset] : *offsets) Seek(tp, offset);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::Position(const TopicPartition& tp) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) {
    return absl::FailedPreconditionError(
        fmt::format("You can only check the position for partitions assigned to this consumer "
                    "({} is not)",
                    tp.ToString()));
  }
  if (!it->second.position) {
    FetchCommittedPositions(absl::Now() + config_.request_timeout);
    if (it->second.awaiting_committed) {
      return absl::UnavailableError(
          fmt::format("The committed offset of {} could not be fetched", tp.ToString()));
    }
  }
  if (!it->second.position) {
    absl::Status s = ResetPositions();
    if (!s.ok()) return s;
  }
  return *it->second.position;
}

absl::StatusOr<std::vector<int32_t>> Consumer::PartitionsFor(const std::string& topic) {
  absl::Status s = metadata_.Refresh({topic});
  if (!s.ok()) return s;
  std::optional<TopicInfo> info = metadata_.Topic(topic);
  if (!info || info->error == v1::UNKNOWN_TOPIC_OR_PARTITION) {
    return ErrorToStatus(v1::UNKNOWN_TOPIC_OR_PARTITION,
                         fmt::format("Topic '{}' does not exist", topic));
  }
  if (info->error != v1::NONE) return ErrorToStatus(info->error, info->error_message);
  std::vector<int32_t> out;
  for (const auto& p : info->partitions) out.push_back(p.partition);
  return out;
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::ListOffsets(
    const std::vector<TopicPartition>& partitions, int64_t timestamp) {
  std::map<TopicPartition, int64_t> timestamps;
  for (const TopicPartition& tp : partitions) timestamps[tp] = timestamp;
  std::map<TopicPartition, int64_t> result;
  for (const auto& [tp, listed] :
       ListOffsetsAtLeaders(metadata_, pool_, timestamps, config_.request_timeout,
                            config_.retry_backoff, config_.read_committed)) {
    if (listed.status.ok()) {
      result[tp] = listed.offset;
    } else if (absl::IsDeadlineExceeded(listed.status)) {
      return absl::DeadlineExceededError(
          fmt::format("Failed to get offsets by times in {}ms: {}",
                      absl::ToInt64Milliseconds(config_.request_timeout),
                      std::string(listed.status.message())));
    } else {
      return absl::Status(listed.status.code(),
                          fmt::format("Cannot list offsets of {}: {}", tp.ToString(),
                                      std::string(listed.status.message())));
    }
  }
  return result;
}

absl::Status Consumer::ResetPositions() {
  std::vector<TopicPartition> earliest;
  std::vector<TopicPartition> latest;
  for (const auto& [tp, state] : partitions_) {
    if (state.position || state.awaiting_committed) continue;
    switch (config_.auto_offset_reset) {
      case OffsetReset::kEarliest:
        earliest.push_back(tp);
        break;
      case OffsetReset::kLatest:
        latest.push_back(tp);
        break;
      case OffsetReset::kNone:
        return absl::FailedPreconditionError(fmt::format(
            "Undefined offset with no reset policy for partitions: [{}]", tp.ToString()));
    }
  }
  if (!earliest.empty()) {
    absl::Status s = SeekToBeginning(earliest);
    if (!s.ok()) return s;
  }
  if (!latest.empty()) {
    absl::Status s = SeekToEnd(latest);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void Consumer::MaybeRefreshMetadata(absl::Time now) {
  if (!need_metadata_ || now < last_metadata_refresh_ + config_.retry_backoff) return;
  need_metadata_ = false;
  last_metadata_refresh_ = now;
  if (!metadata_.Refresh(AssignedTopics()).ok()) need_metadata_ = true;
}

void Consumer::SendFetches(absl::Time now) {
  std::set<int32_t> busy;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, call] : in_flight_) busy.insert(call->node);
  }
  std::map<int32_t, std::unique_ptr<FetchCall>> calls;
  for (auto& [tp, state] : partitions_) {
    if (!state.position || state.fetching || state.buffered.size() >= kMaxBufferedAnswers ||
        state.backoff_until > now) {
      continue;
    }
    const int32_t leader = metadata_.Leader(tp.topic, tp.partition.value());
    std::optional<std::string> target =
        leader == kNoLeader ? std::nullopt : metadata_.BrokerAddress(leader);
    if (!target) {
      need_metadata_ = true;
      continue;
    }
    if (busy.contains(leader)) continue;
    std::unique_ptr<FetchCall>& call = calls[leader];
    if (!call) {
      call = std::make_unique<FetchCall>();
      call->node = leader;
      call->target = *target;
      call->request.set_replica_id(-1);
      call->request.set_max_wait_ms(config_.fetch_max_wait_ms);
      call->request.set_min_bytes(config_.fetch_min_bytes);
      call->request.set_max_bytes(config_.fetch_max_bytes);
      if (config_.read_committed) call->request.set_isolation_level(v1::READ_COMMITTED);
    }
    v1::FetchTopic* t = nullptr;
    for (auto& existing : *call->request.mutable_topics()) {
      if (existing.topic() == tp.topic) t = &existing;
    }
    if (t == nullptr) {
      t = call->request.add_topics();
      t->set_topic(tp.topic);
    }
    v1::FetchPartition* p = t->add_partitions();
    p->set_partition(tp.partition.value());
    p->set_fetch_offset(state.fetch_offset);
    p->set_partition_max_bytes(state.max_bytes);
    p->set_current_leader_epoch(-1);
    call->epochs[tp] = state.seek_epoch;
    state.fetching = true;
  }
  for (auto& [leader, call] : calls) {
    call->id = next_call_id_++;
    call->stub = v1::Broker::NewStub(pool_.Get(call->target));
    call->ctx.set_deadline(
        std::chrono::system_clock::now() +
        absl::ToChronoMilliseconds(config_.request_timeout +
                                   absl::Milliseconds(config_.fetch_max_wait_ms)));
    FetchCall* raw = call.get();
    {
      absl::MutexLock lock(&mu_);
      in_flight_.emplace(raw->id, std::move(call));
    }
    raw->stub->async()->Fetch(&raw->ctx, &raw->request, &raw->response,
                              [this, raw](grpc::Status status) {
                                absl::MutexLock lock(&mu_);
                                raw->status = std::move(status);
                                raw->answered = true;
                                answered_.push_back(raw->id);
                                answered_cv_.Signal();
                              });
  }
}

absl::Status Consumer::HandleFetchAnswer(FetchCall& call) {
  const absl::Time now = absl::Now();
  // Partitions of this call that are still assigned and not re-seeked.
  auto current = [&](const TopicPartition& tp) -> PartitionState* {
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) return nullptr;
    auto e = call.epochs.find(tp);
    if (e == call.epochs.end() || e->second != it->second.seek_epoch) {
      it->second.fetching = false;
      return nullptr;
    }
    return &it->second;
  };
  for (const auto& [tp, epoch] : call.epochs) {
    auto it = partitions_.find(tp);
    if (it != partitions_.end()) it->second.fetching = false;
  }

  if (!call.status.ok()) {
    absl::Status error = FromGrpcStatus(call.status, call.target);
    if (!IsNetworkError(error)) return error;
    for (const auto& [tp, epoch] : call.epochs) {
      PartitionState* state = current(tp);
      if (state == nullptr) continue;
      metadata_.InvalidateLeader(tp.topic, tp.partition.value());
      state->backoff_until = now + config_.retry_backoff;
    }
    need_metadata_ = true;
    return absl::OkStatus();
  }

  for (auto& t : *call.response.mutable_topics()) {
    for (auto& p : *t.mutable_partitions()) {
      TopicPartition tp{t.topic(), PartitionId(p.partition())};
      PartitionState* state = current(tp);
      if (state == nullptr) continue;
      switch (p.error()) {
        case v1::NONE: {
          // Only the batch headers are read here, for where the next fetch
          // starts, so that it goes out at once; the records are decoded
          // when they are handed out (DecodeBuffered), while the broker
          // reads the next ones.
          const FetchExtent extent = ScanFetchedBatches(p.records(), state->fetch_offset);
          if (extent.truncated) {
            // The batch at the fetch offset is larger than the limit: ask
            // for more next time.
            state->max_bytes = std::min(kMaxPartitionFetchBytesCap, state->max_bytes * 2);
          }
          if (extent.next_offset == state->fetch_offset) break;  // no whole batch
          PartitionState::Fetched& f = state->buffered.emplace_back();
          f.fetch_offset = state->fetch_offset;
          f.next_offset = extent.next_offset;
          f.bytes = std::move(*p.mutable_records());
          if (config_.read_committed) {
            f.aborted.reserve(p.aborted_transactions_size());
            for (const v1::AbortedTransaction& a : p.aborted_transactions()) {
              f.aborted.push_back({a.producer_id(), a.first_offset()});
            }
          }
          state->fetch_offset = extent.next_offset;
          break;
        }
        case v1::OFFSET_OUT_OF_RANGE:
          if (config_.auto_offset_reset == OffsetReset::kNone) {
            return ErrorToStatus(
                p.error(), fmt::format("Fetch position FetchPosition{{offset={}}} is out of range "
                                       "for partition {}",
                                       state->fetch_offset, tp.ToString()));
          }
          state->position.reset();
          state->seek_epoch = ++next_seek_epoch_;
          break;
        default: {
          if (!IsRetriable(p.error())) {
            return ErrorToStatus(
                p.error(),
                p.error_message().empty()
                    ? fmt::format("{} ({})", DefaultErrorMessage(p.error()), tp.ToString())
                    : p.error_message());
          }
          if (InvalidatesMetadata(p.error())) {
            if (p.leader_hint() >= 0 && p.leader_hint() != call.node &&
                metadata_.BrokerAddress(p.leader_hint())) {
              metadata_.SetLeaderHint(tp.topic, tp.partition.value(), p.leader_hint());
            } else {
              metadata_.InvalidateLeader(tp.topic, tp.partition.value());
              need_metadata_ = true;
            }
          }
          state->backoff_until = now + config_.retry_backoff;
          break;
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Consumer::DecodeBuffered(const TopicPartition& tp,
                                      PartitionState::Fetched& fetched) {
  DecodedFetch decoded;
  absl::Status s = DecodeFetchedRecords(fetched.bytes, tp.topic, tp.partition.value(),
                                        fetched.fetch_offset, config_.check_crcs, &decoded,
                                        config_.read_committed ? &fetched.aborted : nullptr,
                                        static_cast<size_t>(config_.max_poll_records));
  if (!s.ok()) return s;
  fetched.runs = std::move(decoded.runs);
  fetched.decoded = true;
  std::string().swap(fetched.bytes);
  std::vector<record::AbortedTransaction>().swap(fetched.aborted);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ConsumerRecord>> Consumer::Poll(absl::Duration timeout) {
  if (closed_) return absl::FailedPreconditionError("This consumer has already been closed.");
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<ConsumerRecord> out;
  while (true) {
    if (coordinator_ != nullptr) {
      {
        absl::MutexLock lock(&mu_);
        nudged_ = false;
      }
      MaybeRefreshSubscription(absl::Now());
      // Waits for a rebalance only when there is nothing to fetch
      // meanwhile (eager rebalances, the first join); with partitions
      // kept through a cooperative rebalance, fetching goes on and the
      // rebalance's answers nudge this loop.
      absl::Status s = coordinator_->Poll(deadline, /*wait_for_join=*/partitions_.empty());
      if (!s.ok()) return s;
    }
    std::vector<std::unique_ptr<FetchCall>> answered;
    {
      absl::MutexLock lock(&mu_);
      if (wakeup_) {
        wakeup_ = false;
        return absl::CancelledError("The consumer was woken up (Consumer::Wakeup)");
      }
      for (int64_t id : answered_) {
        auto it = in_flight_.find(id);
        answered.push_back(std::move(it->second));
        in_flight_.erase(it);
      }
      answered_.clear();
    }
    // Every answer is handled (each clears its partitions' in-flight mark)
    // before the first error, if any, is returned.
    absl::Status first_error;
    for (auto& call : answered) first_error.Update(HandleFetchAnswer(*call));
    if (!first_error.ok()) return first_error;
    // The next fetches go out before this Poll() decodes what came.
    if (!answered.empty()) SendFetches(absl::Now());

    // Hand out buffered records, visiting partitions round-robin so that one
    // busy partition does not starve the others.
    const size_t n = partitions_.size();
    if (n > 0) {
      auto it = partitions_.begin();
      std::advance(it, next_partition_ % n);
      const size_t max = static_cast<size_t>(config_.max_poll_records);
      // Set once no more records go into `out`: max.poll.records reached,
      // or the next run would not fit whole. Polls hand out whole runs
      // (fewer records than max.poll.records, which is a bound), so that a
      // short run at an answer's end does not leave every later poll
      // splitting runs and moving their records one by one.
      bool full = false;
      for (size_t i = 0; i < n && !full; ++i) {
        const TopicPartition& tp = it->first;
        PartitionState& state = it->second;
        while (!state.buffered.empty() && !full) {
          PartitionState::Fetched& f = state.buffered.front();
          if (!f.decoded) {
            absl::Status s = DecodeBuffered(tp, f);
            if (!s.ok()) {
              if (!out.empty()) {
                // The records already taken go out (their positions have
                // moved past them); the answer stays, and fails the next
                // Poll that reaches it with nothing else in hand.
                full = true;
                break;
              }
              // Fetched again from the position at the next Poll(), so the
              // error stays until the application seeks past it.
              state.buffered.clear();
              state.fetch_offset = state.position.value_or(state.fetch_offset);
              state.seek_epoch = ++next_seek_epoch_;
              return s;
            }
          }
          const size_t before = out.size();
          // Runs hold at most `max` records (DecodeBuffered), so the first
          // always fits.
          while (!f.runs.empty()) {
            std::vector<ConsumerRecord>& run = f.runs.front();
            if (!out.empty() && out.size() + run.size() > max) {
              full = true;
              break;
            }
            if (out.empty()) {
              out.swap(run);  // no record moved
            } else {
              std::move(run.begin(), run.end(), std::back_inserter(out));
            }
            f.runs.pop_front();
          }
          if (out.size() > before) state.position = out.back().offset + 1;
          if (out.size() >= max) full = true;
          if (!f.runs.empty()) break;  // full
          // Batches may end past their last record (compaction, control
          // batches): the position follows the answer.
          if (state.position) state.position = std::max(*state.position, f.next_offset);
          state.buffered.pop_front();
        }
        if (++it == partitions_.end()) it = partitions_.begin();
      }
      next_partition_ = (next_partition_ + 1) % n;
    }

    FetchCommittedPositions(deadline);
    absl::Status s = ResetPositions();
    // Records taken go out first (their positions have moved past them);
    // the failure, if it lasts, is the next Poll's answer.
    if (!s.ok()) return out.empty() ? absl::StatusOr<std::vector<ConsumerRecord>>(s) : out;
    const absl::Time now = absl::Now();
    MaybeRefreshMetadata(now);
    SendFetches(now);  // also prefetches before returning records
    if (!out.empty() || now >= deadline) return out;

    absl::Time wake = deadline;
    for (const auto& [tp, state] : partitions_) {
      if (state.backoff_until > now) wake = std::min(wake, state.backoff_until);
    }
    if (need_metadata_) wake = std::min(wake, last_metadata_refresh_ + config_.retry_backoff);
    for (const auto& [tp, state] : partitions_) {
      if (state.awaiting_committed) wake = std::min(wake, state.committed_backoff_until);
    }
    if (coordinator_ != nullptr && coordinator_->subscribed()) {
      wake = std::min(wake, next_subscription_refresh_);
    }
    absl::MutexLock lock(&mu_);
    if (answered_.empty() && !wakeup_ && !nudged_) answered_cv_.WaitWithDeadline(&mu_, wake);
  }
}

void Consumer::Wakeup() {
  {
    absl::MutexLock lock(&mu_);
    wakeup_ = true;
    answered_cv_.SignalAll();
  }
  if (coordinator_ != nullptr) coordinator_->Wakeup();
}

}  // namespace strata::client
