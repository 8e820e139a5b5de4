#include "raft/node/metadata_observer.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "raft/node/proto_convert.h"
#include "raft/node/rocksdb_log_storage.h"
#include "strata/internal/raft.grpc.pb.h"

namespace strata::raft {
namespace {

// Beyond the leader's wait: time for the answer itself, which may be a
// whole snapshot.
constexpr int64_t kFetchSlackMs = 10000;
// How much of the stored log is read at a time when replaying it.
constexpr uint64_t kReplayBytes = 16 << 20;

std::string LeaderName(NodeId leader) {
  return leader == kNoNode ? std::string("unknown") : absl::StrCat("node ", leader.value());
}

}  // namespace

MetadataObserver::MetadataObserver(MetadataObserverOptions options, StateMachine* state_machine)
    : options_(std::move(options)), clock_(options_.clock), state_machine_(state_machine) {}

MetadataObserver::~MetadataObserver() { Stop(); }

absl::StatusOr<std::unique_ptr<MetadataObserver>> MetadataObserver::Create(
    MetadataObserverOptions options, StateMachine* state_machine) {
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("MetadataObserverOptions::clock is required");
  }
  if (options.voters.empty()) {
    return absl::InvalidArgumentError("a metadata observer needs the quorum's voters");
  }
  if (options.voters.contains(options.id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node ", options.id.value(), " is a voter of the metadata quorum, not an observer"));
  }
  std::unique_ptr<MetadataObserver> observer(new MetadataObserver(options, state_machine));
  ConfState conf;
  for (const auto& [id, address] : options.voters) conf.voters.push_back(id);
  absl::StatusOr<std::unique_ptr<RocksDbLogStorage>> storage =
      RocksDbLogStorage::Open(options.data_dir, conf);
  if (!storage.ok()) return storage.status();
  observer->storage_ = std::move(*storage);
  observer->hard_state_ = observer->storage_->GetInitialState().hard_state;
  // Entries past the commit index can only be there if this directory was
  // once a voter's: they may never commit, so they are fetched again (and
  // overwritten) rather than applied.
  observer->initial_commit_ =
      std::min(observer->hard_state_.commit, observer->storage_->LastIndex());
  if (!options.fetch) {
    for (const auto& [id, address] : options.voters) {
      observer->channels_[id] = PeerChannel(address);
    }
  }
  return observer;
}

void MetadataObserver::Start() {
  absl::MutexLock l(&mu_);
  CHECK(!started_) << "MetadataObserver started twice";
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void MetadataObserver::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    // The leader may hold the fetch for a while: do not wait it out.
    if (in_flight_ != nullptr) in_flight_->TryCancel();
  }
  thread_.join();
}

bool MetadataObserver::stopping() const {
  absl::MutexLock l(&mu_);
  return stopping_;
}

bool MetadataObserver::Pause(int64_t ms) {
  absl::MutexLock l(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Milliseconds(ms));
  return !stopping_;
}

MetadataObserverStatus MetadataObserver::status() const {
  absl::MutexLock l(&mu_);
  return status_;
}

void MetadataObserver::Recover() {
  absl::StatusOr<Snapshot> snapshot = storage_->GetSnapshot();
  CHECK(snapshot.ok()) << snapshot.status();
  if (!snapshot->empty()) {
    absl::Status s = state_machine_->Restore(snapshot->data);
    CHECK(s.ok()) << "restoring the metadata snapshot at " << snapshot->metadata.index << ": " << s;
    applied_ = last_snapshot_ = snapshot->metadata.index;
  }
  while (applied_ < initial_commit_) {
    absl::StatusOr<std::vector<Entry>> entries =
        storage_->Entries(applied_ + 1, initial_commit_ + 1, kReplayBytes);
    CHECK(entries.ok()) << "replaying the stored metadata log from " << applied_ + 1 << ": "
                        << entries.status();
    for (const Entry& e : *entries) {
      if (!e.data.empty()) state_machine_->Apply(e);
      applied_ = e.index;
    }
  }
}

void MetadataObserver::Loop() {
  Recover();
  LOG(INFO) << "Metadata observer " << options_.id << " resuming at index " << applied_
            << " (stored log [" << storage_->FirstIndex() << ", " << storage_->LastIndex()
            << "], snapshot at " << last_snapshot_ << "); fetching from the quorum leader";
  PublishStatus();
  std::vector<NodeId> voters;
  for (const auto& [id, address] : options_.voters) voters.push_back(id);
  int redirects = 0;
  while (!stopping()) {
    // The leader it knows, or else the voters in turn: each answers with
    // the leader it knows.
    const NodeId target = leader_ != kNoNode ? leader_ : voters[next_voter_++ % voters.size()];
    const FetchResult result = FetchOnce(target);
    // Voters that name each other (an election under way) send it round in
    // circles: after a few redirects in a row it waits like after a failure.
    redirects = result == FetchResult::kRedirected ? redirects + 1 : 0;
    const bool wait = result == FetchResult::kFailed || redirects > 3;
    if (wait && !Pause(options_.retry_backoff_ms)) break;
    if (redirects > 3) redirects = 0;
  }
}

MetadataObserver::FetchResult MetadataObserver::FetchOnce(NodeId voter) {
  internal::RaftFetchRequest request;
  request.set_observer_id(options_.id.value());
  request.set_observer_address(options_.address);
  request.set_next_index((applied_ + 1).value());
  request.set_max_bytes(options_.max_bytes);
  request.set_max_wait_ms(static_cast<uint32_t>(std::max(0, options_.max_wait_ms)));
  internal::RaftFetchResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(options_.max_wait_ms + kFetchSlackMs));
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return FetchResult::kFailed;
    in_flight_ = &context;
  }
  grpc::Status s;
  if (options_.fetch) {
    s = options_.fetch(voter, &context, request, &response);
  } else {
    s = internal::Raft::NewStub(channels_.at(voter))->Fetch(&context, request, &response);
  }
  {
    absl::MutexLock l(&mu_);
    in_flight_ = nullptr;
  }
  if (!s.ok()) {
    // Cancelled by Stop(): the leader did not go anywhere.
    if (stopping()) return FetchResult::kFailed;
    VLOG(1) << "Metadata fetch from node " << voter << " failed: " << s.error_message();
    if (leader_ == voter) SetLeader(kNoNode);
    return FetchResult::kFailed;
  }
  if (response.error() == internal::RAFT_FETCH_NOT_LEADER) {
    const NodeId hint(response.leader_id());
    const bool usable = hint != voter && options_.voters.contains(hint);
    SetLeader(usable ? hint : kNoNode);
    return usable ? FetchResult::kRedirected : FetchResult::kFailed;
  }
  SetLeader(voter);
  term_ = Term(response.term());
  leader_commit_ = Index(response.commit());
  last_fetch_ms_ = clock_->NowMs();
  absl::Status applied =
      response.has_snapshot_metadata() ? InstallSnapshot(response) : AppendAndApply(response);
  PublishStatus();
  if (!applied.ok()) {
    LOG(WARNING) << "Metadata fetch from node " << voter << " not applied: " << applied;
    return FetchResult::kFailed;
  }
  return FetchResult::kDone;
}

absl::Status MetadataObserver::InstallSnapshot(const internal::RaftFetchResponse& response) {
  Snapshot snapshot;
  snapshot.metadata = FromProto(response.snapshot_metadata());
  snapshot.data = response.snapshot_data();
  // The leader sends one only when it compacted past applied_ + 1.
  if (snapshot.metadata.index <= applied_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the leader sent a snapshot at ", snapshot.metadata.index.value(),
                     ", not past what this node has (", applied_.value(), ")"));
  }
  const Index index = snapshot.metadata.index;
  HardState hs = hard_state_;
  hs.commit = index;
  // Durable first: a crash after the restore must find the snapshot, not
  // the log it replaced.
  absl::Status s = storage_->Save(snapshot, {}, hs);
  CHECK(s.ok()) << "metadata observer storage write failed; refusing to continue: " << s;
  hard_state_ = hs;
  s = state_machine_->Restore(snapshot.data);
  CHECK(s.ok()) << "restoring the metadata snapshot at " << index << " from the leader: " << s;
  applied_ = last_snapshot_ = index;
  ++snapshots_restored_;
  LOG(INFO) << "Metadata observer " << options_.id << " restored a snapshot at index " << index
            << " from the quorum leader (" << LeaderName(leader_)
            << "): it had compacted its log past this node's";
  return absl::OkStatus();
}

absl::Status MetadataObserver::AppendAndApply(const internal::RaftFetchResponse& response) {
  if (response.entries().empty()) return absl::OkStatus();
  std::vector<Entry> entries;
  entries.reserve(response.entries_size());
  Index expected = applied_ + 1;
  for (const internal::RaftEntry& p : response.entries()) {
    if (Index(p.index()) != expected) {
      return absl::DataLossError(absl::StrCat("the leader sent entry ", p.index(), " where ",
                                              expected.value(), " was due"));
    }
    entries.push_back(FromProto(p));
    ++expected;
  }
  HardState hs = hard_state_;
  hs.commit = entries.back().index;
  absl::Status s = storage_->Save(std::nullopt, entries, hs);
  CHECK(s.ok()) << "metadata observer storage write failed; refusing to continue: " << s;
  hard_state_ = hs;
  for (const Entry& e : entries) {
    // A new leader's no-op carries nothing, as RaftNode skips it too.
    if (!e.data.empty()) state_machine_->Apply(e);
    applied_ = e.index;
  }
  MaybeSnapshot();
  return absl::OkStatus();
}

void MetadataObserver::MaybeSnapshot() {
  if (applied_ - last_snapshot_ < options_.snapshot_entries) return;
  SnapshotAndCompact(storage_.get(), state_machine_, applied_, options_.keep_entries);
  last_snapshot_ = applied_;
}

void MetadataObserver::SetLeader(NodeId leader) {
  if (leader == leader_) return;
  LOG(INFO) << "Metadata observer " << options_.id << ": quorum leader " << LeaderName(leader)
            << " (was " << LeaderName(leader_) << ")";
  leader_ = leader;
  PublishStatus();
}

void MetadataObserver::PublishStatus() {
  MetadataObserverStatus st;
  st.id = options_.id;
  st.leader = leader_;
  st.term = term_;
  st.leader_commit = leader_commit_;
  st.applied = applied_;
  st.first_index = storage_->FirstIndex();
  st.last_index = storage_->LastIndex();
  st.snapshot_index = last_snapshot_;
  st.snapshots_restored = snapshots_restored_;
  st.last_fetch_ms = last_fetch_ms_;
  absl::MutexLock l(&mu_);
  status_ = st;
}

}  // namespace strata::raft
