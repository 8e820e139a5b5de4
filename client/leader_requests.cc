#include "client/leader_requests.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "client/errors.h"
#include "fmt/format.h"
#include "grpcpp/client_context.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {
namespace {

void SetDeadline(grpc::ClientContext& ctx, absl::Time deadline) {
  const absl::Duration left = std::max(deadline - absl::Now(), absl::Milliseconds(100));
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(left));
}

}  // namespace

std::map<TopicPartition, absl::Status> RequestAtLeaders(MetadataCache& metadata,
                                                        const std::set<TopicPartition>& partitions,
                                                        absl::Duration request_timeout,
                                                        absl::Duration retry_backoff,
                                                        const std::string& what,
                                                        const LeaderRequest& send) {
  std::map<TopicPartition, absl::Status> result;
  std::set<TopicPartition> remaining = partitions;
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
      if (info && IsAuthorizationFailure(info->error)) {
        // Not allowed to see the topic: no wait changes that.
        result[tp] = ErrorToStatus(info->error,
                                   fmt::format("Not authorized to access topics: [{}]", tp.topic));
        it = remaining.erase(it);
        continue;
      }
      if (info && (info->error == v1::UNKNOWN_TOPIC_OR_PARTITION ||
                   (info->error == v1::NONE &&
                    (p < 0 || static_cast<size_t>(p) >= info->partitions.size())))) {
        // Not a leadership question: waiting will not make it exist.
        result[tp] = ErrorToStatus(
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
      absl::StatusOr<std::vector<PartitionAnswer>> answers = send(target, tps, deadline);
      if (!answers.ok()) {
        for (const TopicPartition& tp : tps) {
          if (IsNetworkError(answers.status())) {
            last_error[tp] = answers.status();
            metadata.InvalidateLeader(tp.topic, tp.partition.value());
          } else {
            result[tp] = answers.status();
            remaining.erase(tp);
          }
        }
        refresh = refresh || IsNetworkError(answers.status());
        continue;
      }
      for (const PartitionAnswer& a : *answers) {
        if (!remaining.contains(a.tp)) continue;
        if (a.error == v1::NONE) {
          result[a.tp] = absl::OkStatus();
          remaining.erase(a.tp);
          continue;
        }
        absl::Status err = ErrorToStatus(a.error, a.message);
        if (!IsRetriable(a.error)) {
          result[a.tp] = err;
          remaining.erase(a.tp);
          continue;
        }
        last_error[a.tp] = err;
        if (InvalidatesMetadata(a.error)) {
          if (a.leader_hint >= 0 && a.leader_hint != leader) {
            metadata.SetLeaderHint(a.tp.topic, a.tp.partition.value(), a.leader_hint);
          } else {
            metadata.InvalidateLeader(a.tp.topic, a.tp.partition.value());
            refresh = true;
          }
        }
      }
    }
    if (remaining.empty()) break;
    if (absl::Now() + retry_backoff >= deadline) {
      for (const TopicPartition& tp : remaining) {
        absl::Status last = last_error.contains(tp) ? last_error[tp] : absl::OkStatus();
        result[tp] = absl::DeadlineExceededError(fmt::format(
            "Timed out after {} ms {} {}{}", absl::ToInt64Milliseconds(request_timeout), what,
            tp.ToString(), last.ok() ? "" : fmt::format(" ({})", std::string(last.message()))));
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

std::map<TopicPartition, ListedOffset> ListOffsetsAtLeaders(
    MetadataCache& metadata, ConnectionPool& pool,
    const std::map<TopicPartition, int64_t>& timestamps, absl::Duration request_timeout,
    absl::Duration retry_backoff, bool read_committed) {
  std::map<TopicPartition, ListedOffset> result;
  std::set<TopicPartition> partitions;
  for (const auto& [tp, ts] : timestamps) partitions.insert(tp);
  auto send = [&](const std::string& target, const std::vector<TopicPartition>& tps,
                  absl::Time deadline) -> absl::StatusOr<std::vector<PartitionAnswer>> {
    v1::ListOffsetsRequest request;
    if (read_committed) request.set_isolation_level(v1::READ_COMMITTED);
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
    SetDeadline(ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Broker::NewStub(pool.Get(target))->ListOffsets(&ctx, request, &response), target);
    if (!s.ok()) return s;
    std::vector<PartitionAnswer> answers;
    for (const auto& t : response.topics()) {
      for (const auto& p : t.partitions()) {
        TopicPartition tp{t.topic(), PartitionId(p.partition())};
        if (p.error() == v1::NONE && timestamps.contains(tp)) {
          ListedOffset& out = result[tp];
          out.offset = p.offset();
          out.timestamp = p.timestamp();
          out.leader_epoch = p.leader_epoch();
        }
        answers.push_back(PartitionAnswer{tp, p.error(), p.error_message(), p.leader_hint()});
      }
    }
    return answers;
  };
  for (auto& [tp, status] : RequestAtLeaders(metadata, partitions, request_timeout, retry_backoff,
                                             "listing offsets of", send)) {
    result[tp].status = std::move(status);
  }
  return result;
}

std::map<TopicPartition, DeletedRecords> DeleteRecordsAtLeaders(
    MetadataCache& metadata, ConnectionPool& pool, const std::map<TopicPartition, int64_t>& offsets,
    absl::Duration request_timeout, absl::Duration retry_backoff) {
  std::map<TopicPartition, DeletedRecords> result;
  std::set<TopicPartition> partitions;
  for (const auto& [tp, offset] : offsets) partitions.insert(tp);
  auto send = [&](const std::string& target, const std::vector<TopicPartition>& tps,
                  absl::Time deadline) -> absl::StatusOr<std::vector<PartitionAnswer>> {
    v1::DeleteRecordsRequest request;
    // The leader waits for its followers within what is left of the
    // client's time, less a margin for the answer to come back.
    const absl::Duration left = deadline - absl::Now() - absl::Milliseconds(500);
    request.set_timeout_ms(
        static_cast<int32_t>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
    std::map<std::string, v1::DeleteRecordsTopic*> by_topic;
    for (const TopicPartition& tp : tps) {
      v1::DeleteRecordsTopic*& t = by_topic[tp.topic];
      if (t == nullptr) {
        t = request.add_topics();
        t->set_topic(tp.topic);
      }
      v1::DeleteRecordsPartition* p = t->add_partitions();
      p->set_partition(tp.partition.value());
      p->set_offset(offsets.at(tp));
    }
    v1::DeleteRecordsResponse response;
    grpc::ClientContext ctx;
    SetDeadline(ctx, deadline);
    absl::Status s = FromGrpcStatus(
        v1::Broker::NewStub(pool.Get(target))->DeleteRecords(&ctx, request, &response), target);
    if (!s.ok()) return s;
    std::vector<PartitionAnswer> answers;
    for (const auto& t : response.topics()) {
      for (const auto& p : t.partitions()) {
        TopicPartition tp{t.topic(), PartitionId(p.partition())};
        if (p.error() == v1::NONE && offsets.contains(tp)) {
          result[tp].low_watermark = p.low_watermark();
        }
        answers.push_back(PartitionAnswer{tp, p.error(), p.error_message(), p.leader_hint()});
      }
    }
    return answers;
  };
  for (auto& [tp, status] : RequestAtLeaders(metadata, partitions, request_timeout, retry_backoff,
                                             "deleting records of", send)) {
    result[tp].status = std::move(status);
  }
  return result;
}

}  // namespace strata::client
