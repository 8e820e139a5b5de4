#include "raft/node/raft_node.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "raft/node/proto_convert.h"
#include "raft/node/rocksdb_log_storage.h"
#include "strata/internal/raft.grpc.pb.h"

namespace strata::raft {

namespace {

absl::Mutex peer_credentials_mu(absl::kConstInit);
std::shared_ptr<grpc::ChannelCredentials>* peer_credentials ABSL_GUARDED_BY(peer_credentials_mu) =
    nullptr;

}  // namespace

void SetPeerChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  absl::MutexLock l(&peer_credentials_mu);
  if (peer_credentials == nullptr) {
    peer_credentials = new std::shared_ptr<grpc::ChannelCredentials>();
  }
  *peer_credentials = std::move(credentials);
}

std::shared_ptr<grpc::Channel> PeerChannel(const std::string& address) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  {
    absl::MutexLock l(&peer_credentials_mu);
    if (peer_credentials != nullptr) credentials = *peer_credentials;
  }
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return PeerChannel(address, std::move(credentials));
}

std::shared_ptr<grpc::Channel> PeerChannel(const std::string& address,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // After a failed connection the channel re-resolves the name, by default
  // at most every 30 s; a restarted peer must be found within a second.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 100);
  // Peers are trusted and some answers are large (a replica fetch carries
  // up to replica.fetch.response.max.bytes): no 4 MB default limit.
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, credentials, args);
}

// Sends Raft messages to peers over gRPC, asynchronously and without retries:
// Raft recovers from lost messages by itself, so a slow or dead peer only
// costs dropped messages, never a blocked loop.
class PeerTransport {
 public:
  explicit PeerTransport(const std::map<NodeId, std::string>& peers) {
    for (const auto& [id, address] : peers) {
      peers_[id].stub = internal::Raft::NewStub(PeerChannel(address));
    }
  }

  ~PeerTransport() {
    for (auto& [id, peer] : peers_) {
      // Calls in flight hold pointers into this object: wait them out.
      while (peer.in_flight.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void Send(const std::vector<Message>& messages) {
    std::map<NodeId, internal::RaftMessageBatch> batches;
    for (const Message& m : messages) *batches[m.to].add_messages() = ToProto(m);
    for (auto& [to, batch] : batches) {
      auto it = peers_.find(to);
      if (it == peers_.end()) {
        LOG_EVERY_N(WARNING, 100) << "Raft message for unknown node " << to;
        continue;
      }
      Peer& peer = it->second;
      // A peer that does not answer gets its backlog capped, not buffered.
      if (peer.in_flight.load() >= kMaxInFlight) continue;
      auto* call = new Call;
      call->request = std::move(batch);
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      ++peer.in_flight;
      peer.stub->async()->Send(&call->context, &call->request, &call->response,
                               [call, &peer](grpc::Status s) {
                                 if (!s.ok()) VLOG(2) << "Raft send failed: " << s.error_message();
                                 --peer.in_flight;
                                 delete call;
                               });
    }
  }

 private:
  static constexpr int kMaxInFlight = 64;
  struct Peer {
    std::unique_ptr<internal::Raft::Stub> stub;
    std::atomic<int> in_flight{0};
  };
  struct Call {
    grpc::ClientContext context;
    internal::RaftMessageBatch request;
    internal::RaftSendResponse response;
  };
  std::map<NodeId, Peer> peers_;
};

// An observer's fetch, parked on the loop thread until it can be answered.
struct RaftNode::Fetch {
  internal::RaftFetchRequest request;
  internal::RaftFetchResponse* response = nullptr;
  grpc::ServerUnaryReactor* reactor = nullptr;
  int64_t deadline_ms = 0;
};

// The receiving side: a thin adapter that decodes and queues.
class RaftNode::Service final : public internal::Raft::CallbackService {
 public:
  explicit Service(RaftNode* node) : node_(node) {}

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const internal::RaftMessageBatch* request,
                                 internal::RaftSendResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::vector<Message> messages;
    messages.reserve(request->messages_size());
    for (const auto& m : request->messages()) {
      if (!internal::RaftMessageType_IsValid(m.type()) || NodeId(m.to()) != node_->options_.id) {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     absl::StrCat("message for node ", m.to(), " of type ", m.type(),
                                                  " reached node ", node_->options_.id.value())));
        return reactor;
      }
      messages.push_back(FromProto(m));
    }
    node_->Deliver(std::move(messages));
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const internal::RaftFetchRequest* request,
                                  internal::RaftFetchResponse* response) override {
    auto fetch = std::make_unique<RaftNode::Fetch>();
    fetch->request = *request;
    fetch->response = response;
    fetch->reactor = context->DefaultReactor();
    fetch->deadline_ms = node_->clock_->NowMs() +
                         std::clamp<int64_t>(request->max_wait_ms(), 0, RaftNode::kMaxFetchWaitMs);
    grpc::ServerUnaryReactor* reactor = fetch->reactor;
    node_->QueueFetch(std::move(fetch));
    return reactor;
  }

 private:
  RaftNode* node_;
};

RaftNode::RaftNode(RaftNodeOptions options, StateMachine* state_machine)
    : options_(std::move(options)), clock_(options_.clock), state_machine_(state_machine) {}

RaftNode::~RaftNode() { Stop(); }

absl::StatusOr<std::unique_ptr<RaftNode>> RaftNode::Create(RaftNodeOptions options,
                                                           StateMachine* state_machine) {
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("RaftNodeOptions::clock is required");
  }
  if (!options.peers.contains(options.id)) {
    return absl::InvalidArgumentError(absl::StrCat("node ", options.id.value(),
                                                   " is not among the quorum's peers"));
  }
  std::unique_ptr<RaftNode> node(new RaftNode(options, state_machine));
  absl::StatusOr<std::unique_ptr<RocksDbLogStorage>> storage =
      RocksDbLogStorage::Open(options.data_dir, ConfState{options.voters, options.learners});
  if (!storage.ok()) return storage.status();
  node->storage_ = std::move(*storage);
  node->initial_commit_ = node->storage_->GetInitialState().hard_state.commit;
  std::map<NodeId, std::string> others = options.peers;
  others.erase(options.id);
  node->transport_ = std::make_unique<PeerTransport>(others);
  node->service_ = std::make_unique<Service>(node.get());
  return node;
}

grpc::Service* RaftNode::service() { return service_.get(); }

void RaftNode::Start() {
  absl::MutexLock l(&mu_);
  CHECK(!started_) << "RaftNode started twice";
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void RaftNode::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  thread_.join();
}

void RaftNode::Deliver(std::vector<Message> messages) {
  absl::MutexLock l(&mu_);
  if (stopping_) return;
  for (Message& m : messages) inbox_.push_back(std::move(m));
}

void RaftNode::QueueFetch(std::unique_ptr<Fetch> fetch) {
  {
    absl::MutexLock l(&mu_);
    if (started_ && !stopping_) {
      fetches_.push_back(std::move(fetch));
      return;
    }
  }
  fetch->reactor->Finish(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "the Raft node is not running"));
}

void RaftNode::Propose(std::string data, ProposeCallback done) {
  {
    absl::MutexLock l(&mu_);
    if (!stopping_ && started_) {
      proposals_.push_back(Proposal{std::move(data), std::move(done)});
      return;
    }
  }
  // Outside the lock: the callback may call back into this node.
  done(absl::UnavailableError("the Raft node is not running"));
}

void RaftNode::TransferLeadership(NodeId target) {
  absl::MutexLock l(&mu_);
  transfers_.push_back(target);
}

RaftNodeStatus RaftNode::status() const {
  absl::MutexLock l(&mu_);
  return status_;
}

void RaftNode::Loop() {
  // Start from the latest snapshot; the core replays committed entries after it.
  absl::StatusOr<Snapshot> snapshot = storage_->GetSnapshot();
  CHECK(snapshot.ok()) << snapshot.status();
  if (!snapshot->empty()) {
    absl::Status s = state_machine_->Restore(snapshot->data);
    CHECK(s.ok()) << "restoring the snapshot at " << snapshot->metadata.index << ": " << s;
    applied_ = last_snapshot_ = snapshot->metadata.index;
  }
  const uint64_t seed = options_.seed != 0 ? options_.seed
                                           : options_.id.value() * 0x9E3779B97F4A7C15ULL ^
                                                 static_cast<uint64_t>(clock_->NowMs());
  auto rng = std::make_shared<std::mt19937_64>(seed);
  Config config;
  config.id = options_.id;
  config.election_tick = options_.election_tick;
  config.heartbeat_tick = options_.heartbeat_tick;
  config.applied = applied_;
  config.random = [rng] { return (*rng)(); };
  raft_ = std::make_unique<Raft>(config, storage_.get());
  LOG(INFO) << "Raft node " << options_.id << " running: term " << raft_->term() << ", log ["
            << storage_->FirstIndex() << ", " << storage_->LastIndex() << "], applied " << applied_;

  int64_t next_tick_ms = clock_->NowMs() + options_.tick_ms;
  // When the first parked fetch's wait runs out.
  int64_t next_fetch_deadline_ms = INT64_MAX;
  while (true) {
    std::vector<Message> inbox;
    std::vector<Proposal> proposals;
    std::vector<NodeId> transfers;
    std::vector<std::unique_ptr<Fetch>> fetches;
    {
      absl::MutexLock l(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !inbox_.empty() || !proposals_.empty() || !transfers_.empty() ||
               !fetches_.empty();
      };
      const int64_t wake_ms = std::min(next_tick_ms, next_fetch_deadline_ms);
      mu_.AwaitWithTimeout(absl::Condition(&has_work),
                           absl::Milliseconds(std::max<int64_t>(0, wake_ms - clock_->NowMs())));
      if (stopping_) break;
      inbox.swap(inbox_);
      proposals.swap(proposals_);
      transfers.swap(transfers_);
      fetches.swap(fetches_);
    }
    const int64_t now_ms = clock_->NowMs();
    if (now_ms >= next_tick_ms) {
      raft_->Tick();
      // After a stall, tick once and move on rather than firing a burst.
      next_tick_ms = std::max<int64_t>(next_tick_ms + options_.tick_ms, now_ms);
    }
    for (const Message& m : inbox) {
      last_heard_ms_[m.from] = now_ms;
      if (absl::Status s = raft_->Step(m); !s.ok()) VLOG(1) << "Step refused " << m << ": " << s;
    }
    for (Proposal& p : proposals) {
      absl::StatusOr<Index> index = raft_->Propose(std::move(p.data));
      if (index.ok()) {
        // An earlier proposal at this index lost its place when the log was
        // overwritten; it will never commit.
        if (auto old = pending_.find(*index); old != pending_.end()) {
          old->second.done(absl::AbortedError("leadership changed; the entry was overwritten"));
        }
        pending_[*index] = Pending{raft_->term(), std::move(p.done)};
      } else {
        p.done(absl::FailedPreconditionError(absl::StrCat(
            "node ", options_.id.value(), " is not the metadata quorum leader; the leader is ",
            raft_->leader() == kNoNode ? std::string("unknown") : absl::StrCat("node ", raft_->leader().value()))));
      }
    }
    for (NodeId target : transfers) {
      if (absl::Status s = raft_->TransferLeadership(target); !s.ok()) {
        LOG(WARNING) << "Leadership transfer to " << target << " refused: " << s;
      }
    }
    while (raft_->HasReady()) HandleReady(raft_->GetReady());
    // Fetches are answered after the Ready, so they see the newest commit.
    for (std::unique_ptr<Fetch>& f : fetches) {
      NoteObserver(*f, now_ms);
      parked_fetches_.push_back(std::move(f));
    }
    next_fetch_deadline_ms = AnswerFetches(clock_->NowMs());
    PublishStatus();
  }
  for (auto& [index, p] : pending_) p.done(absl::UnavailableError("the Raft node is stopping"));
  pending_.clear();
  std::vector<Proposal> unsent;
  std::vector<std::unique_ptr<Fetch>> unanswered;
  {
    absl::MutexLock l(&mu_);
    unsent.swap(proposals_);
    unanswered.swap(fetches_);
  }
  for (Proposal& p : unsent) p.done(absl::UnavailableError("the Raft node is stopping"));
  for (auto& f : parked_fetches_) unanswered.push_back(std::move(f));
  parked_fetches_.clear();
  for (auto& f : unanswered) {
    f->reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the Raft node is stopping"));
  }
}

void RaftNode::NoteObserver(const Fetch& fetch, int64_t now_ms) {
  const NodeId id(fetch.request.observer_id());
  // A voter is never an observer, and only the leader keeps track.
  if (raft_->role() != Role::kLeader || id == kNoNode || options_.peers.contains(id)) return;
  ObserverStatus& o = observers_[id];
  if (o.last_fetch_ms < 0) {
    LOG(INFO) << "Observer " << id << " (" << fetch.request.observer_address()
              << ") fetches the metadata log from index " << fetch.request.next_index();
  }
  o.fetched = Index(std::max<uint64_t>(1, fetch.request.next_index()) - 1);
  o.last_fetch_ms = now_ms;
  o.address = fetch.request.observer_address();
  if (o.fetched >= raft_->log().committed()) o.last_caught_up_ms = now_ms;
}

int64_t RaftNode::AnswerFetches(int64_t now_ms) {
  if (parked_fetches_.empty()) return INT64_MAX;
  const bool leader = raft_->role() == Role::kLeader;
  // Only committed entries leave: an observer's log never needs truncating.
  const Index commit = std::min(raft_->log().committed(), storage_->LastIndex());
  const Index first = storage_->FirstIndex();
  int64_t next_deadline_ms = INT64_MAX;
  std::vector<std::unique_ptr<Fetch>> still_parked;
  for (std::unique_ptr<Fetch>& f : parked_fetches_) {
    internal::RaftFetchResponse* r = f->response;
    r->set_leader_id(raft_->leader().value());
    r->set_term(raft_->term().value());
    if (!leader) {
      r->set_error(internal::RAFT_FETCH_NOT_LEADER);
      f->reactor->Finish(grpc::Status::OK);
      continue;
    }
    r->set_commit(commit.value());
    const Index next(std::max<uint64_t>(1, f->request.next_index()));
    const NodeId observer(f->request.observer_id());
    grpc::Status status = grpc::Status::OK;
    if (next < first) {
      // Compacted past what the observer has: it starts over from the
      // snapshot (which covers `next`: compaction never passes it).
      absl::StatusOr<Snapshot> snapshot = storage_->GetSnapshot();
      if (!snapshot.ok() || snapshot->empty()) {
        status =
            grpc::Status(grpc::StatusCode::INTERNAL,
                         absl::StrCat("no snapshot to send: ",
                                      snapshot.ok() ? "none taken" : snapshot.status().ToString()));
      } else {
        LOG(INFO) << "Observer " << observer << " asks for index " << next
                  << ", compacted away (log starts at " << first << "): sending the snapshot at "
                  << snapshot->metadata.index;
        *r->mutable_snapshot_metadata() = ToProto(snapshot->metadata);
        r->set_snapshot_data(std::move(snapshot->data));
      }
    } else if (next <= commit) {
      const uint64_t max_bytes = f->request.max_bytes() > 0 ? f->request.max_bytes() : 1 << 20;
      absl::StatusOr<std::vector<Entry>> entries = storage_->Entries(next, commit + 1, max_bytes);
      if (!entries.ok()) {
        status = grpc::Status(grpc::StatusCode::INTERNAL, entries.status().ToString());
      } else {
        for (const Entry& e : *entries) *r->add_entries() = ToProto(e);
      }
    } else if (now_ms < f->deadline_ms) {
      // Nothing new yet: wait for a commit (or the deadline).
      next_deadline_ms = std::min(next_deadline_ms, f->deadline_ms);
      still_parked.push_back(std::move(f));
      continue;
    } else if (auto o = observers_.find(observer); o != observers_.end()) {
      o->second.last_caught_up_ms = now_ms;
    }
    f->reactor->Finish(status);
  }
  parked_fetches_ = std::move(still_parked);
  return next_deadline_ms;
}

void RaftNode::HandleReady(Ready rd) {
  // 1. Durable before anything that depends on it leaves the node.
  absl::Status s = storage_->Save(rd.snapshot, rd.entries, rd.hard_state);
  CHECK(s.ok()) << "Raft storage write failed; refusing to continue: " << s;
  // 2. Send.
  transport_->Send(rd.messages);
  // 3. Apply.
  if (rd.snapshot) {
    s = state_machine_->Restore(rd.snapshot->data);
    CHECK(s.ok()) << "restoring a snapshot from the leader: " << s;
    applied_ = last_snapshot_ = rd.snapshot->metadata.index;
    ++snapshots_restored_;
    LOG(INFO) << "Restored a snapshot at index " << applied_ << " from the leader";
    for (auto it = pending_.begin(); it != pending_.end() && it->first <= applied_;) {
      it->second.done(absl::AbortedError("outcome unknown: the log was replaced by a snapshot"));
      it = pending_.erase(it);
    }
  }
  for (const Entry& e : rd.committed_entries) {
    if (!e.data.empty()) state_machine_->Apply(e);
    applied_ = e.index;
    auto it = pending_.find(e.index);
    if (it == pending_.end()) continue;
    if (it->second.term == e.term) {
      it->second.done(e.index);
    } else {
      it->second.done(absl::AbortedError(absl::StrCat(
          "leadership changed before entry ", e.index.value(), " committed; it was not applied")));
    }
    pending_.erase(it);
  }
  raft_->Advance(rd);
  MaybeSnapshot();
}

void SnapshotAndCompact(LogStorage* storage, StateMachine* state_machine, Index applied,
                        uint64_t keep_entries) {
  absl::Status s = storage->CreateSnapshot(applied, state_machine->TakeSnapshot());
  CHECK(s.ok()) << "taking a snapshot at " << applied << ": " << s;
  if (applied.value() > keep_entries) {
    const Index compact_to = applied - keep_entries;
    if (compact_to >= storage->FirstIndex()) {
      s = storage->Compact(compact_to);
      CHECK(s.ok()) << "compacting the metadata log to " << compact_to << ": " << s;
    }
  }
  VLOG(1) << "Snapshot at " << applied << "; log now [" << storage->FirstIndex() << ", "
          << storage->LastIndex() << "]";
}

void RaftNode::MaybeSnapshot() {
  if (applied_ - last_snapshot_ < options_.snapshot_entries) return;
  SnapshotAndCompact(storage_.get(), state_machine_, applied_, options_.keep_entries);
  last_snapshot_ = applied_;
}

void RaftNode::PublishStatus() {
  RaftNodeStatus st;
  st.id = options_.id;
  st.leader = raft_->leader();
  st.term = raft_->term();
  st.role = raft_->role();
  st.commit = raft_->log().committed();
  st.applied = applied_;
  st.first_index = storage_->FirstIndex();
  st.last_index = storage_->LastIndex();
  st.snapshot_index = last_snapshot_;
  st.snapshots_restored = snapshots_restored_;
  if (st.role == Role::kLeader) {
    const int64_t now_ms = clock_->NowMs();
    for (const auto& [id, _] : options_.peers) {
      const Progress* p = raft_->progress(id);
      if (p == nullptr) continue;
      st.match[id] = id == options_.id ? st.last_index : p->match;
      if (id == options_.id || p->match >= st.last_index) last_caught_up_ms_[id] = now_ms;
    }
    last_heard_ms_[options_.id] = now_ms;
    std::erase_if(observers_, [&](const auto& o) {
      return now_ms - o.second.last_fetch_ms > kObserverSessionMs;
    });
  } else {
    // A new leader learns of the observers from their next fetches.
    observers_.clear();
  }
  st.observers = observers_;
  st.last_heard_ms = last_heard_ms_;
  st.last_caught_up_ms = last_caught_up_ms_;
  absl::MutexLock l(&mu_);
  if (st.role != status_.role || st.term != status_.term || st.leader != status_.leader) {
    LOG(INFO) << "Raft node " << st.id << ": " << RoleName(st.role) << " in term " << st.term
              << ", leader " << (st.leader == kNoNode ? std::string("unknown") : absl::StrCat(st.leader.value()));
  }
  status_ = std::move(st);
}

}  // namespace strata::raft
