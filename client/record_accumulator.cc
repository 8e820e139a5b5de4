#include "client/record_accumulator.h"

#include <algorithm>

namespace strata::client {

void ProducerBatch::Close() {
  if (closed) return;
  payload = builder.Build();
  closed = true;
}

size_t EstimateRecordSize(const record::Record& record) {
  // length, attributes, timestampDelta, offsetDelta, key and value lengths,
  // header count: at most 5 + 1 + 10 + 5 + 5 + 5 + 5 bytes of framing.
  size_t size = 36;
  if (record.key) size += record.key->size();
  if (record.value) size += record.value->size();
  for (const auto& h : record.headers) {
    size += 10 + h.key.size() + (h.value ? h.value->size() : 0);
  }
  return size;
}

RecordAccumulator::RecordAccumulator(int32_t batch_size, absl::Duration linger)
    : batch_size_(batch_size), linger_(linger) {}

void RecordAccumulator::Append(const TopicPartition& tp, const record::Record& record,
                               SendCallback callback, absl::Time now) {
  auto& queue = queues_[tp];
  const size_t record_size = EstimateRecordSize(record);
  ProducerBatch* batch = queue.empty() ? nullptr : queue.back().get();
  if (batch == nullptr || batch->closed ||
      (batch->record_count() > 0 &&
       batch->size_in_bytes() + record_size > static_cast<size_t>(batch_size_))) {
    auto fresh = std::make_unique<ProducerBatch>();
    fresh->tp = tp;
    fresh->created = now;
    queue.push_back(std::move(fresh));
    batch = queue.back().get();
  }
  batch->builder.Append(record);
  batch->reserved_bytes += static_cast<int64_t>(record_size);
  batch->callbacks.push_back(std::move(callback));
  batch->timestamps.push_back(record.timestamp);
}

std::vector<TopicPartition> RecordAccumulator::Ready(absl::Time now, bool flush,
                                                     absl::Time* next_check) const {
  std::vector<TopicPartition> ready;
  for (const auto& [tp, queue] : queues_) {
    if (queue.empty() || muted_.contains(tp)) continue;
    const ProducerBatch& head = *queue.front();
    if (head.retry_at > now) {
      *next_check = std::min(*next_check, head.retry_at);
      continue;
    }
    const bool full =
        queue.size() > 1 || head.closed || head.size_in_bytes() >= static_cast<size_t>(batch_size_);
    const absl::Time linger_done = head.created + linger_;
    if (full || flush || linger_done <= now) {
      ready.push_back(tp);
    } else {
      *next_check = std::min(*next_check, linger_done);
    }
  }
  return ready;
}

std::unique_ptr<ProducerBatch> RecordAccumulator::Drain(const TopicPartition& tp) {
  auto it = queues_.find(tp);
  if (it == queues_.end() || it->second.empty()) return nullptr;
  std::unique_ptr<ProducerBatch> batch = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) queues_.erase(it);
  batch->Close();
  return batch;
}

void RecordAccumulator::Reenqueue(std::unique_ptr<ProducerBatch> batch) {
  TopicPartition tp = batch->tp;
  queues_[tp].push_front(std::move(batch));
}

std::vector<std::unique_ptr<ProducerBatch>> RecordAccumulator::Expire(
    absl::Time now, absl::Duration delivery_timeout) {
  std::vector<std::unique_ptr<ProducerBatch>> expired;
  for (auto it = queues_.begin(); it != queues_.end();) {
    auto& queue = it->second;
    // Batches of a partition were created in order, so the expired ones are
    // a prefix.
    while (!queue.empty() && queue.front()->created + delivery_timeout <= now) {
      expired.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    if (queue.empty()) {
      it = queues_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

std::vector<std::unique_ptr<ProducerBatch>> RecordAccumulator::DrainAll() {
  std::vector<std::unique_ptr<ProducerBatch>> all;
  for (auto& [tp, queue] : queues_) {
    for (auto& b : queue) all.push_back(std::move(b));
  }
  queues_.clear();
  return all;
}

size_t RecordAccumulator::BatchCount(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  return it == queues_.end() ? 0 : it->second.size();
}

size_t RecordAccumulator::FrontBytes(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  return it == queues_.end() || it->second.empty() ? 0 : it->second.front()->size_in_bytes();
}

std::vector<std::string> RecordAccumulator::Topics() const {
  std::vector<std::string> topics;
  for (const auto& [tp, queue] : queues_) {
    if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
  }
  return topics;
}

}  // namespace strata::client
