#include "client/producer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "client/errors.h"
#include "fmt/format.h"
#include "grpcpp/client_context.h"
#include "strata/v1/broker.grpc.pb.h"

namespace strata::client {

// One Produce request to one broker and the batches it carries.
struct Producer::InFlight {
  int64_t id = 0;
  int32_t node = -1;
  std::string target;
  std::unique_ptr<v1::Broker::Stub> stub;
  grpc::ClientContext ctx;
  v1::ProduceRequest request;
  v1::ProduceResponse response;
  grpc::Status status;
  std::vector<std::unique_ptr<ProducerBatch>> batches;
};

namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(ProducerConfig config) {
  absl::StatusOr<std::vector<std::string>> bootstrap =
      ParseBootstrapServers(config.bootstrap_servers);
  if (!bootstrap.ok()) return bootstrap.status();
  if (config.acks != 0 && config.acks != 1 && config.acks != -1) {
    return absl::InvalidArgumentError(
        fmt::format("Invalid value {} for configuration acks", config.acks));
  }
  return std::unique_ptr<Producer>(new Producer(std::move(config), *std::move(bootstrap)));
}

Producer::Producer(ProducerConfig config, std::vector<std::string> bootstrap)
    : config_(std::move(config)),
      metadata_(std::move(bootstrap), &pool_, config_.request_timeout),
      partitioner_(config_.keyless, config_.batch_size),
      accumulator_(config_.batch_size, config_.linger) {
  sender_ = std::thread([this] { SenderLoop(); });
}

Producer::~Producer() { Close(); }

absl::StatusOr<int32_t> Producer::PartitionCount(const std::string& topic) {
  const absl::Time deadline = absl::Now() + config_.max_block;
  absl::Status last;
  bool refreshed = false;
  while (true) {
    std::optional<TopicInfo> info = metadata_.Topic(topic);
    if (info && info->error == v1::NONE && !info->partitions.empty()) {
      return static_cast<int32_t>(info->partitions.size());
    }
    if (info && info->error != v1::NONE && !IsRetriable(info->error)) {
      return ErrorToStatus(info->error, info->error_message);
    }
    if (refreshed) {
      if (absl::Now() >= deadline) break;
      absl::SleepFor(std::min(config_.retry_backoff, deadline - absl::Now()));
    }
    last = metadata_.Refresh({topic});
    refreshed = true;
  }
  std::string msg = fmt::format("Topic {} not present in metadata after {} ms.", topic,
                                absl::ToInt64Milliseconds(config_.max_block));
  if (!last.ok()) msg += fmt::format(" ({})", std::string(last.message()));
  return absl::DeadlineExceededError(msg);
}

std::future<absl::StatusOr<RecordMetadata>> Producer::Send(ProducerRecord record) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RecordMetadata>>>();
  auto future = promise->get_future();
  Send(std::move(record),
       [promise](const absl::StatusOr<RecordMetadata>& result) { promise->set_value(result); });
  return future;
}

void Producer::Send(ProducerRecord record, SendCallback callback) {
  const absl::Time deadline = absl::Now() + config_.max_block;
  bool closed = false;
  {
    absl::MutexLock lock(&mu_);
    closed = closing_;
  }
  // Callbacks never run under the producer's lock: they may call Send.
  if (closed) {
    callback(
        absl::FailedPreconditionError("Cannot perform operation after producer has been closed"));
    return;
  }
  absl::StatusOr<int32_t> count = PartitionCount(record.topic);
  if (!count.ok()) {
    callback(count.status());
    return;
  }
  int32_t partition = 0;
  if (record.partition.has_value()) {
    partition = *record.partition;
    if (partition < 0 || partition >= *count) {
      // Partitions may have been added since the metadata was cached.
      (void)metadata_.Refresh({record.topic});
      count = PartitionCount(record.topic);
      if (!count.ok()) {
        callback(count.status());
        return;
      }
      if (partition < 0 || partition >= *count) {
        callback(ErrorToStatus(
            v1::UNKNOWN_TOPIC_OR_PARTITION,
            fmt::format("Invalid partition given with record: {} is not in the range [0...{}).",
                        partition, *count)));
        return;
      }
    }
  }

  record::Record r;
  r.key = std::move(record.key);
  r.value = std::move(record.value);
  r.headers = std::move(record.headers);
  r.timestamp = record.timestamp_ms.value_or(NowMs());
  const size_t size = EstimateRecordSize(r);
  if (size > static_cast<size_t>(config_.max_request_size)) {
    callback(ErrorToStatus(
        v1::MESSAGE_TOO_LARGE,
        fmt::format("The message is {} bytes when serialized which is larger than {}, which is "
                    "the value of the max.request.size configuration.",
                    size, config_.max_request_size)));
    return;
  }
  if (!record.partition.has_value()) {
    partition = partitioner_.Partition(record.topic, r.key, *count, size);
  }

  const int64_t bytes = static_cast<int64_t>(size);
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    // buffer.memory: wait for room, up to max.block.ms in all.
    auto room = [this, bytes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closing_ || buffered_bytes_ == 0 || buffered_bytes_ + bytes <= config_.buffer_memory;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&room), deadline)) {
      refused = absl::DeadlineExceededError(
          fmt::format("Failed to allocate memory within the configured max blocking time {} ms.",
                      absl::ToInt64Milliseconds(config_.max_block)));
    } else if (closing_) {
      refused =
          absl::FailedPreconditionError("Cannot perform operation after producer has been closed");
    } else {
      ++unfinished_;
      buffered_bytes_ += bytes;  // released when its batch completes
      accumulator_.Append(TopicPartition{record.topic, PartitionId(partition)}, r,
                          std::move(callback), absl::Now());
      wake_sender_.Signal();
      return;
    }
  }
  callback(refused);
}

void Producer::Flush() {
  absl::MutexLock lock(&mu_);
  ++flushing_;
  wake_sender_.Signal();
  mu_.Await(absl::Condition(
      +[](Producer* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->unfinished_ == 0; },
      this));
  --flushing_;
}

void Producer::Close(absl::Duration timeout) {
  // From a callback (the sender thread) Close cannot wait for the sender:
  // as in Kafka, it closes at once.
  if (sender_.get_id() == std::this_thread::get_id()) timeout = absl::ZeroDuration();
  {
    absl::MutexLock lock(&mu_);
    if (!closing_) {
      closing_ = true;
      wake_sender_.Signal();
    }
    auto done = +[](Producer* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->sender_done_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(done, this), timeout)) {
      force_close_ = true;
      wake_sender_.Signal();
    }
  }
  if (sender_.joinable() && sender_.get_id() != std::this_thread::get_id()) sender_.join();
}

void Producer::SenderLoop() {
  std::vector<std::function<void()>> done;
  while (true) {
    std::vector<InFlight*> to_send;
    std::vector<std::string> refresh_topics;
    bool refresh = false;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      absl::Time next_check = absl::InfiniteFuture();
      SendReady(now, &to_send, &done, &next_check);
      if (need_metadata_) {
        const absl::Time allowed = last_metadata_refresh_ + config_.retry_backoff;
        if (allowed <= now) {
          refresh = true;
          need_metadata_ = false;
          last_metadata_refresh_ = now;
          refresh_topics = accumulator_.Topics();
        } else {
          next_check = std::min(next_check, allowed);
        }
      }
      if (to_send.empty() && done.empty() && !refresh) {
        if (closing_ && accumulator_.empty() && in_flight_.empty() && answered_.empty()) {
          sender_done_ = true;
          return;
        }
        wake_sender_.WaitWithDeadline(&mu_, next_check);
        continue;
      }
    }
    for (InFlight* call : to_send) StartCall(call);
    if (!done.empty()) {
      for (auto& fn : done) fn();
      absl::MutexLock lock(&mu_);
      unfinished_ -= static_cast<int64_t>(done.size());
      done.clear();
    }
    if (refresh) (void)metadata_.Refresh(refresh_topics);
  }
}

void Producer::SendReady(absl::Time now, std::vector<InFlight*>* to_send,
                         std::vector<std::function<void()>>* done, absl::Time* next_check) {
  for (int64_t id : answered_) {
    auto it = in_flight_.find(id);
    std::unique_ptr<InFlight> call = std::move(it->second);
    in_flight_.erase(it);
    HandleAnswer(*call, now, done);
  }
  answered_.clear();

  if (force_close_) {
    for (auto& batch : accumulator_.DrainAll()) {
      FailBatch(*batch, absl::CancelledError("Producer is closed forcefully."), done);
    }
    for (auto& [id, call] : in_flight_) call->ctx.TryCancel();
    return;
  }

  for (auto& batch : accumulator_.Expire(now, config_.delivery_timeout)) {
    std::string msg = fmt::format(
        "Expiring {} record(s) for {}:{} ms has passed since batch creation", batch->record_count(),
        batch->tp.ToString(), absl::ToInt64Milliseconds(now - batch->created));
    if (!batch->last_error.ok())
      msg += fmt::format(" (last error: {})", std::string(batch->last_error.message()));
    FailBatch(*batch, ErrorToStatus(v1::REQUEST_TIMED_OUT, msg), done);
  }

  const std::vector<TopicPartition> ready =
      accumulator_.Ready(now, flushing_ > 0 || closing_, next_check);
  // Per leader, each partition's batches: its first batch, and every full
  // batch queued behind it that fits in max.request.size. A partition's
  // batches travel in one request (one request per partition in flight),
  // so a producer ahead of its acknowledgements (acks=all) is not held to
  // one batch per round trip.
  struct PartitionBatches {
    std::vector<std::unique_ptr<ProducerBatch>> batches;
    size_t bytes = 0;
  };
  std::map<int32_t, std::vector<PartitionBatches>> by_leader;
  for (const TopicPartition& tp : ready) {
    const int32_t leader = metadata_.Leader(tp.topic, tp.partition.value());
    if (leader == kNoLeader || !metadata_.BrokerAddress(leader)) {
      need_metadata_ = true;
      continue;
    }
    accumulator_.Mute(tp);
    PartitionBatches unit;
    unit.batches.push_back(accumulator_.Drain(tp));
    unit.bytes = unit.batches.back()->payload.size();
    // Every batch but the last (open) one is full; a flush takes that too.
    // A batch larger than batch.size (one big record) travels alone, so
    // that if the broker refuses it (max.message.bytes) no other goes with
    // it.
    const size_t batch_size = static_cast<size_t>(config_.batch_size);
    const size_t max_request = static_cast<size_t>(config_.max_request_size);
    const bool alone = unit.bytes > batch_size;
    while (!alone &&
           (accumulator_.BatchCount(tp) > 1 || (flushing_ > 0 || closing_)) &&
           accumulator_.BatchCount(tp) > 0 && accumulator_.FrontBytes(tp) <= batch_size &&
           unit.bytes + accumulator_.FrontBytes(tp) <= max_request) {
      unit.batches.push_back(accumulator_.Drain(tp));
      unit.bytes += unit.batches.back()->payload.size();
    }
    by_leader[leader].push_back(std::move(unit));
  }
  for (auto& [leader, units] : by_leader) {
    const std::string target = *metadata_.BrokerAddress(leader);
    std::unique_ptr<InFlight> call;
    size_t bytes = 0;
    auto finish = [&] {
      if (!call) return;
      InFlight* raw = call.get();
      in_flight_.emplace(raw->id, std::move(call));
      to_send->push_back(raw);
    };
    for (PartitionBatches& unit : units) {
      if (call && bytes + unit.bytes > static_cast<size_t>(config_.max_request_size)) finish();
      if (!call) {
        call = std::make_unique<InFlight>();
        call->id = next_call_id_++;
        call->node = leader;
        call->target = target;
        call->stub = v1::Broker::NewStub(pool_.Get(target));
        call->request.set_acks(config_.acks);
        call->request.set_timeout_ms(
            static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
        bytes = 0;
      }
      const TopicPartition& tp = unit.batches.front()->tp;
      v1::TopicProduceData* topic_data = nullptr;
      for (auto& t : *call->request.mutable_topics()) {
        if (t.topic() == tp.topic) topic_data = &t;
      }
      if (topic_data == nullptr) {
        topic_data = call->request.add_topics();
        topic_data->set_topic(tp.topic);
      }
      v1::PartitionProduceData* p = topic_data->add_partitions();
      p->set_partition(tp.partition.value());
      if (unit.batches.size() == 1) {
        p->set_records(unit.batches.front()->payload);
      } else {
        std::string* records = p->mutable_records();
        records->reserve(unit.bytes);
        for (const auto& batch : unit.batches) records->append(batch->payload);
      }
      bytes += unit.bytes;
      for (auto& batch : unit.batches) {
        ++batch->attempts;
        call->batches.push_back(std::move(batch));
      }
    }
    finish();
  }
}

void Producer::HandleAnswer(InFlight& call, absl::Time now,
                            std::vector<std::function<void()>>* done) {
  for (const auto& batch : call.batches) accumulator_.Unmute(batch->tp);

  // Batches to retry go back to the head of their partitions last first, so
  // that a partition's batches keep their order.
  std::vector<std::pair<std::unique_ptr<ProducerBatch>, absl::Status>> retry;
  auto retry_all = [&] {
    for (auto it = retry.rbegin(); it != retry.rend(); ++it) {
      RetryOrFail(std::move(it->first), it->second, now, done);
    }
  };
  if (!call.status.ok()) {
    const absl::Status error = FromGrpcStatus(call.status, call.target);
    const bool retriable = IsNetworkError(error);
    for (auto& batch : call.batches) {
      if (retriable) {
        metadata_.InvalidateLeader(batch->tp.topic, batch->tp.partition.value());
        need_metadata_ = true;
        retry.emplace_back(std::move(batch), error);
      } else {
        FailBatch(*batch, error, done);
      }
    }
    retry_all();
    return;
  }

  std::map<std::pair<std::string, int32_t>, const v1::PartitionProduceResponse*> answers;
  for (const auto& t : call.response.topics()) {
    for (const auto& p : t.partitions()) answers[{t.topic(), p.partition()}] = &p;
  }
  // The offset the next batch of each partition got: batches of one
  // partition were appended back to back.
  std::map<std::pair<std::string, int32_t>, int64_t> next_offset;
  for (auto& batch : call.batches) {
    auto it = answers.find({batch->tp.topic, batch->tp.partition.value()});
    if (it == answers.end()) {
      FailBatch(
          *batch,
          ErrorToStatus(v1::UNKNOWN_SERVER_ERROR, fmt::format("The broker {} sent no answer for {}",
                                                              call.target, batch->tp.ToString())),
          done);
      continue;
    }
    const v1::PartitionProduceResponse& answer = *it->second;
    if (answer.error() == v1::NONE) {
      auto [next, first] = next_offset.try_emplace(it->first, answer.base_offset());
      const int64_t base = next->second;
      next->second += batch->record_count();
      for (int32_t i = 0; i < batch->record_count(); ++i) {
        RecordMetadata md;
        md.topic = batch->tp.topic;
        md.partition = batch->tp.partition.value();
        md.offset = config_.acks == 0 ? -1 : base + i;
        md.timestamp_ms =
            answer.log_append_time_ms() > 0 ? answer.log_append_time_ms() : batch->timestamps[i];
        SendCallback cb = batch->callbacks[i];
        done->push_back([cb, md] { cb(md); });
      }
      buffered_bytes_ -= batch->reserved_bytes;
      continue;
    }
    const absl::Status error = ErrorToStatus(
        answer.error(),
        answer.error_message().empty()
            ? fmt::format("{} ({})", DefaultErrorMessage(answer.error()), batch->tp.ToString())
            : answer.error_message());
    if (!IsRetriable(answer.error())) {
      FailBatch(*batch, error, done);
      continue;
    }
    if (InvalidatesMetadata(answer.error())) {
      const int32_t hint = answer.leader_hint();
      if (hint >= 0 && hint != call.node && metadata_.BrokerAddress(hint)) {
        metadata_.SetLeaderHint(batch->tp.topic, batch->tp.partition.value(), hint);
      } else {
        metadata_.InvalidateLeader(batch->tp.topic, batch->tp.partition.value());
        need_metadata_ = true;
      }
    }
    retry.emplace_back(std::move(batch), error);
  }
  retry_all();
}

void Producer::FailBatch(const ProducerBatch& batch, const absl::Status& error,
                         std::vector<std::function<void()>>* done) {
  for (const SendCallback& cb : batch.callbacks) {
    done->push_back([cb, error] { cb(error); });
  }
  buffered_bytes_ -= batch.reserved_bytes;
}

void Producer::RetryOrFail(std::unique_ptr<ProducerBatch> batch, const absl::Status& error,
                           absl::Time now, std::vector<std::function<void()>>* done) {
  batch->last_error = error;
  if (force_close_) {
    FailBatch(*batch, error, done);
    return;
  }
  if (now - batch->created >= config_.delivery_timeout) {
    FailBatch(*batch,
              ErrorToStatus(v1::REQUEST_TIMED_OUT,
                            fmt::format("Expiring {} record(s) for {}:{} ms has passed since "
                                        "batch creation (last error: {})",
                                        batch->record_count(), batch->tp.ToString(),
                                        absl::ToInt64Milliseconds(now - batch->created),
                                        std::string(error.message()))),
              done);
    return;
  }
  if (batch->attempts > config_.retries) {
    FailBatch(*batch, error, done);
    return;
  }
  batch->retry_at = now + config_.retry_backoff;
  accumulator_.Reenqueue(std::move(batch));
}

void Producer::StartCall(InFlight* call) {
  call->ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(config_.request_timeout + absl::Seconds(1)));
  call->stub->async()->Produce(&call->ctx, &call->request, &call->response,
                               [this, call](grpc::Status status) {
                                 absl::MutexLock lock(&mu_);
                                 call->status = std::move(status);
                                 answered_.push_back(call->id);
                                 wake_sender_.Signal();
                               });
}

}  // namespace strata::client
