// raft_kv_node: one member of a replicated key-value store, to exercise the
// Raft layer with real processes over gRPC on loopback.
//
//   raft_kv_node --id 1 --peers 1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003
//                --data-dir /tmp/kv1 [--snapshot-entries N] [--keep-entries N]
//                [--tick-ms MS] [--election-tick N]
//
// Serves strata.internal.Raft and strata.test.KvTest on its own address.
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <map>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"
#include "raft/node/raft_node.h"
#include "raft_kv.grpc.pb.h"

namespace strata::test {
namespace {

using raft::Entry;
using raft::NodeId;

class KvStateMachine final : public raft::StateMachine {
 public:
  void Apply(const Entry& entry) override {
    PutRequest put;
    CHECK(put.ParseFromString(entry.data)) << "entry " << entry.index << " is not a Put";
    absl::MutexLock l(&mu_);
    kv_[put.key()] = put.value();
  }
  std::string TakeSnapshot() override {
    absl::MutexLock l(&mu_);
    std::string out;
    for (const auto& [k, v] : kv_) {
      PutRequest put;
      put.set_key(k);
      put.set_value(v);
      std::string one = put.SerializeAsString();
      out += std::to_string(one.size()) + ":" + one;
    }
    return out;
  }
  absl::Status Restore(const std::string& data) override {
    std::map<std::string, std::string> kv;
    size_t pos = 0;
    while (pos < data.size()) {
      size_t colon = data.find(':', pos);
      if (colon == std::string::npos) return absl::DataLossError("bad snapshot");
      size_t len = std::stoul(data.substr(pos, colon - pos));
      PutRequest put;
      if (!put.ParseFromString(data.substr(colon + 1, len))) return absl::DataLossError("bad snapshot");
      kv[put.key()] = put.value();
      pos = colon + 1 + len;
    }
    absl::MutexLock l(&mu_);
    kv_ = std::move(kv);
    return absl::OkStatus();
  }
  std::optional<std::string> Get(const std::string& key) {
    absl::MutexLock l(&mu_);
    auto it = kv_.find(key);
    if (it == kv_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() {
    absl::MutexLock l(&mu_);
    return kv_.size();
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> kv_ ABSL_GUARDED_BY(mu_);
};

class KvService final : public KvTest::CallbackService {
 public:
  KvService(raft::RaftNode* node, KvStateMachine* sm) : node_(node), sm_(sm) {}

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx, const PutRequest* request,
                                PutResponse* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    node_->Propose(request->SerializeAsString(), [reactor, response](absl::StatusOr<raft::Index> index) {
      if (index.ok()) {
        response->set_index(index->value());
        reactor->Finish(grpc::Status::OK);
      } else {
        reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                     std::string(index.status().message())));
      }
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const GetRequest* request,
                                GetResponse* response) override {
    if (std::optional<std::string> v = sm_->Get(request->key())) {
      response->set_found(true);
      response->set_value(*v);
    }
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx, const StatusRequest*,
                                   StatusResponse* response) override {
    raft::RaftNodeStatus st = node_->status();
    response->set_id(st.id.value());
    response->set_leader(st.leader.value());
    response->set_term(st.term.value());
    response->set_role(raft::RoleName(st.role));
    response->set_commit(st.commit.value());
    response->set_applied(st.applied.value());
    response->set_first_index(st.first_index.value());
    response->set_last_index(st.last_index.value());
    response->set_snapshot_index(st.snapshot_index.value());
    response->set_snapshots_restored(st.snapshots_restored);
    response->set_keys(sm_->size());
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  raft::RaftNode* node_;
  KvStateMachine* sm_;
};

int Main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  raft::RaftNodeOptions options;
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  if (!flags.contains("--id") || !flags.contains("--peers") || !flags.contains("--data-dir")) {
    std::fprintf(stderr, "usage: raft_kv_node --id N --peers 1@host:port,... --data-dir DIR\n");
    return 2;
  }
  options.id = NodeId(std::stoull(flags["--id"]));
  for (const std::string& peer : std::vector<std::string>(absl::StrSplit(flags["--peers"], ','))) {
    std::vector<std::string> parts = absl::StrSplit(peer, absl::MaxSplits('@', 1));
    CHECK_EQ(parts.size(), 2u) << "bad peer " << peer;
    NodeId id(std::stoull(parts[0]));
    options.peers[id] = parts[1];
    options.voters.push_back(id);
  }
  options.data_dir = flags["--data-dir"];
  if (flags.contains("--snapshot-entries")) options.snapshot_entries = std::stoull(flags["--snapshot-entries"]);
  if (flags.contains("--keep-entries")) options.keep_entries = std::stoull(flags["--keep-entries"]);
  if (flags.contains("--tick-ms")) options.tick_ms = std::stoi(flags["--tick-ms"]);
  if (flags.contains("--election-tick")) options.election_tick = std::stoi(flags["--election-tick"]);

  options.clock = strata::Clock::Real();  // this program is its own composition root
  KvStateMachine sm;
  auto node = raft::RaftNode::Create(options, &sm);
  CHECK(node.ok()) << node.status();
  KvService kv(node->get(), &sm);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.peers[options.id], grpc::InsecureServerCredentials());
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService((*node)->service());
  builder.RegisterService(&kv);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  CHECK(server) << "cannot listen on " << options.peers[options.id];
  (*node)->Start();
  LOG(INFO) << "raft_kv_node " << options.id << " serving on " << options.peers[options.id];

  int sig = 0;
  sigwait(&set, &sig);
  LOG(INFO) << "Stopping on signal " << sig;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  (*node)->Stop();
  return 0;
}

}  // namespace
}  // namespace strata::test

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return strata::test::Main(argc, argv);
}
