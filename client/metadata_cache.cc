#include "client/metadata_cache.h"

#include <algorithm>
#include <chrono>

#include "client/errors.h"
#include "fmt/format.h"
#include "grpcpp/client_context.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {
namespace {

// Generations of every MetadataCache of the process: 0 is none's.
std::atomic<uint64_t> next_generation{1};

uint64_t NewGeneration() { return next_generation.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

MetadataCache::MetadataCache(std::vector<std::string> bootstrap, ConnectionPool* pool,
                             absl::Duration request_timeout)
    : bootstrap_(std::move(bootstrap)),
      pool_(pool),
      request_timeout_(request_timeout),
      generation_(NewGeneration()) {}

std::vector<std::string> MetadataCache::Candidates() const {
  // The bootstrap list keeps its positions, so `preferred_` stays meaningful;
  // brokers learned from metadata follow (a cluster may have grown past the
  // list).
  std::vector<std::string> out = bootstrap_;
  absl::MutexLock lock(&mu_);
  std::vector<int32_t> ids;
  for (const auto& [id, addr] : brokers_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (int32_t id : ids) {
    const std::string& addr = brokers_.at(id);
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  }
  return out;
}

absl::Status MetadataCache::CallAnyNode(
    const std::function<absl::Status(const std::string& target)>& call) {
  return client::CallAnyNode(Candidates(), &preferred_, call);
}

absl::Status MetadataCache::Refresh(const std::vector<std::string>& topics) {
  v1::MetadataRequest request;
  for (const auto& t : topics) request.add_topics(t);
  v1::MetadataResponse response;
  absl::Status status =
      client::CallAnyNode(Candidates(), &preferred_, [&](const std::string& target) {
        auto stub = v1::Broker::NewStub(pool_->Get(target));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(std::min(request_timeout_, absl::Seconds(10))));
        response.Clear();
        return FromGrpcStatus(stub->Metadata(&ctx, request, &response), target);
      });
  if (!status.ok()) return status;

  absl::MutexLock lock(&mu_);
  cluster_id_ = response.cluster_id();
  for (const auto& b : response.brokers()) {
    brokers_[b.id()] = fmt::format("{}:{}", b.host(), b.port());
  }
  for (const auto& t : response.topics()) {
    TopicInfo info;
    info.name = t.name();
    info.topic_id = t.topic_id();
    info.error = t.error();
    info.error_message = t.error_message();
    int32_t max_partition = -1;
    for (const auto& p : t.partitions()) max_partition = std::max(max_partition, p.partition());
    info.partitions.resize(static_cast<size_t>(max_partition + 1));
    for (size_t i = 0; i < info.partitions.size(); ++i) {
      info.partitions[i].partition = static_cast<int32_t>(i);
      info.partitions[i].error = v1::UNKNOWN_TOPIC_OR_PARTITION;
    }
    for (const auto& p : t.partitions()) {
      if (p.partition() < 0) continue;
      PartitionInfo& pi = info.partitions[static_cast<size_t>(p.partition())];
      pi.leader = p.leader();
      pi.leader_epoch = p.leader_epoch();
      pi.replicas.assign(p.replicas().begin(), p.replicas().end());
      pi.isr.assign(p.isr().begin(), p.isr().end());
      pi.error = p.error();
    }
    topics_[t.name()] = std::move(info);
  }
  generation_.store(NewGeneration(), std::memory_order_release);
  return absl::OkStatus();
}

std::optional<TopicInfo> MetadataCache::Topic(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::pair<v1::ErrorCode, int32_t>> MetadataCache::PartitionCount(
    const std::string& name) const {
  // The producer asks for every record, mostly about the topic it asked
  // about last: each thread remembers its last answer, which holds while
  // the cache's generation is the one it was read at. (A thread that finds
  // the generation unchanged just as a refresh stores a new one answers as
  // if it had asked just before the refresh.)
  struct Remembered {
    uint64_t generation = 0;
    std::string topic;
    std::pair<v1::ErrorCode, int32_t> count;
  };
  thread_local Remembered last;
  if (last.generation == generation_.load(std::memory_order_acquire) && last.topic == name) {
    return last.count;
  }
  absl::ReaderMutexLock lock(&mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return std::nullopt;
  // Under mu_, the generation is that of what was just read.
  last.generation = generation_.load(std::memory_order_relaxed);
  last.topic = name;
  last.count = {it->second.error, static_cast<int32_t>(it->second.partitions.size())};
  return last.count;
}

int32_t MetadataCache::Leader(const std::string& topic, int32_t partition) const {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.partitions.size()) {
    return kNoLeader;
  }
  return it->second.partitions[static_cast<size_t>(partition)].leader;
}

std::optional<std::string> MetadataCache::BrokerAddress(int32_t broker_id) const {
  absl::MutexLock lock(&mu_);
  auto it = brokers_.find(broker_id);
  if (it == brokers_.end()) return std::nullopt;
  return it->second;
}

void MetadataCache::SetLeaderHint(const std::string& topic, int32_t partition, int32_t leader) {
  absl::MutexLock lock(&mu_);
  if (leader < 0 || !brokers_.contains(leader)) return;
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.partitions.size()) {
    return;
  }
  it->second.partitions[static_cast<size_t>(partition)].leader = leader;
}

void MetadataCache::InvalidateLeader(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.partitions.size()) {
    return;
  }
  it->second.partitions[static_cast<size_t>(partition)].leader = kNoLeader;
}

std::string MetadataCache::cluster_id() const {
  absl::MutexLock lock(&mu_);
  return cluster_id_;
}

}  // namespace strata::client
