#include "client/list_offsets.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "client/errors.h"
#include "fmt/format.h"
#include "grpcpp/client_context.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {

std::map<TopicPartition, ListedOffset> ListOffsetsAtLeaders(
    MetadataCache& metadata, ConnectionPool& pool,
    const std::map<TopicPartition, int64_t>& timestamps, absl::Duration request_timeout,
    absl::Duration retry_backoff) {
  std::map<TopicPartition, ListedOffset> result;
  std::set<TopicPartition> remaining;
  for (const auto& [tp, ts] : timestamps) remaining.insert(tp);
  const absl::Time deadline = absl::Now() + request_timeout;
  // The last retriable error of each partition, reported if time runs out.
  std::map<TopicPartition, absl::Status> last_error;
  while (true) {
    std::map<int32_t, std::vector<TopicPartition>> by_leader;
    bool refresh = false;
    for (auto it = remaining.begin(); it != remaining.end();) {
      const TopicPartition& tp = *it;
      std::optional<TopicInfo> info = metadata.Topic(tp.topic);
      const int32_t p = tp.partition.value();
      if (info && (info->error == v1::UNKNOWN_TOPIC_OR_PARTITION ||
                   (info->error == v1::NONE &&
                    (p < 0 || static_cast<size_t>(p) >= info->partitions.size())))) {
        // Not a leadership question: waiting will not make it exist.
        result[tp].status = ErrorToStatus(
            v1::UNKNOWN_TOPIC_OR_PARTITION,
            fmt::format("This server does not host this topic-partition: {}", tp.ToString()));
        it = remaining.erase(it);
        continue;
      }
      const int32_t leader = metadata.Leader(tp.topic, p);
      if (leader == kNoLeader || !metadata.BrokerAddress(leader)) {
        last_error[tp] = ErrorToStatus(v1::LEADER_NOT_AVAILABLE, "");
        refresh = true;
      } else {
        by_leader[leader].push_back(tp);
      }
      ++it;
    }
    for (const auto& [leader, tps] : by_leader) {
      const std::string target = *metadata.BrokerAddress(leader);
      v1::ListOffsetsRequest request;
      std::map<std::string, v1::ListOffsetsTopic*> by_topic;
      for (const TopicPartition& tp : tps) {
        v1::ListOffsetsTopic*& t = by_topic[tp.topic];
        if (t == nullptr) {
          t = request.add_topics();
          t->set_topic(tp.topic);
        }
        v1::ListOffsetsPartition* p = t->add_partitions();
        p->set_partition(tp.partition.value());
        p->set_timestamp(timestamps.at(tp));
      }
      v1::ListOffsetsResponse response;
      grpc::ClientContext ctx;
      const absl::Duration left = std::max(deadline - absl::Now(), absl::Milliseconds(100));
      ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(left));
      absl::Status s = FromGrpcStatus(
          v1::Broker::NewStub(pool.Get(target))->ListOffsets(&ctx, request, &response), target);
      if (!s.ok()) {
        for (const TopicPartition& tp : tps) {
          if (IsNetworkError(s)) {
            last_error[tp] = s;
            metadata.InvalidateLeader(tp.topic, tp.partition.value());
          } else {
            result[tp].status = s;
            remaining.erase(tp);
          }
        }
        refresh = refresh || IsNetworkError(s);
        continue;
      }
      for (const auto& t : response.topics()) {
        for (const auto& p : t.partitions()) {
          TopicPartition tp{t.topic(), PartitionId(p.partition())};
          if (!remaining.contains(tp)) continue;
          if (p.error() == v1::NONE) {
            ListedOffset& out = result[tp];
            out.offset = p.offset();
            out.timestamp = p.timestamp();
            out.leader_epoch = p.leader_epoch();
            remaining.erase(tp);
            continue;
          }
          absl::Status err = ErrorToStatus(p.error(), p.error_message());
          if (!IsRetriable(p.error())) {
            result[tp].status = err;
            remaining.erase(tp);
            continue;
          }
          last_error[tp] = err;
          if (InvalidatesMetadata(p.error())) {
            if (p.leader_hint() >= 0 && p.leader_hint() != leader) {
              metadata.SetLeaderHint(tp.topic, tp.partition.value(), p.leader_hint());
            } else {
              metadata.InvalidateLeader(tp.topic, tp.partition.value());
              refresh = true;
            }
          }
        }
      }
    }
    if (remaining.empty()) break;
    if (absl::Now() + retry_backoff >= deadline) {
      for (const TopicPartition& tp : remaining) {
        absl::Status last = last_error.contains(tp) ? last_error[tp] : absl::OkStatus();
        result[tp].status = absl::DeadlineExceededError(
            fmt::format("Timed out after {} ms listing offsets of {}{}",
                        absl::ToInt64Milliseconds(request_timeout), tp.ToString(),
                        last.ok() ? "" : fmt::format(" ({})", std::string(last.message()))));
      }
      break;
    }
    absl::SleepFor(retry_backoff);
    if (refresh) {
      std::set<std::string> stale;
      for (const TopicPartition& tp : remaining) stale.insert(tp.topic);
      (void)metadata.Refresh({stale.begin(), stale.end()});
    }
  }
  return result;
}

}  // namespace strata::client
