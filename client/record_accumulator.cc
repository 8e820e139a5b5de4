#include "client/record_accumulator.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace strata::client {
namespace {

// How far one sealed batch moves its topic's ratio estimate: better results
// lower it slowly (one lucky batch must not make the next overshoot),
// worse ones raise it at once.
constexpr double kRatioImproveStep = 0.005;
constexpr double kRatioWorsenStep = 0.05;

}  // namespace

size_t ProducerBatch::size_in_bytes() const {
  if (closed) return lent != nullptr ? lent->size() : payload.size();
  const size_t built = builder.size_in_bytes();
  if (compression == record::Compression::kNone) return built;
  const double records = static_cast<double>(built - record::kBatchHeaderSize);
  return record::kBatchHeaderSize +
         static_cast<size_t>(records * estimated_ratio * kEstimateMargin);
}

void ProducerBatch::Close() {
  if (closed) return;
  payload = builder.Build();
  uncompressed_records_bytes = payload.size() - record::kBatchHeaderSize;
  closed = true;
  if (compression == record::Compression::kNone) return;
  const std::string_view built(payload);
  absl::StatusOr<std::string> compressed =
      record::EncodeBatch(built.substr(0, record::kBatchHeaderSize),
                          built.substr(record::kBatchHeaderSize), compression, compression_options);
  if (!compressed.ok()) {
    LOG(WARNING) << "Sending a batch for " << tp.ToString()
                 << " uncompressed: " << record::CompressionName(compression)
                 << " compression failed: " << compressed.status();
    return;
  }
  payload = *std::move(compressed);
}

std::shared_ptr<const std::string> ProducerBatch::Lend() {
  DCHECK(closed && lent == nullptr);
  lent = std::make_shared<std::string>(std::move(payload));
  payload.clear();
  return lent;
}

void ProducerBatch::Reclaim() {
  if (lent == nullptr) return;
  if (lent.use_count() == 1) {
    // gRPC let go of its references; its reads of the bytes happened
    // before (a count seen through a relaxed load, hence the fence).
    std::atomic_thread_fence(std::memory_order_acquire);
    payload = std::move(*lent);
  } else {
    payload = *lent;
  }
  lent.reset();
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

RecordAccumulator::RecordAccumulator(int32_t batch_size, absl::Duration linger,
                                     record::Compression compression,
                                     record::CompressionOptions compression_options,
                                     bool transactional)
    : batch_size_(batch_size),
      linger_(linger),
      compression_(compression),
      compression_options_(compression_options),
      transactional_(transactional) {}

double RecordAccumulator::EstimatedRatio(const std::string& topic) const {
  auto it = ratio_by_topic_.find(topic);
  return it == ratio_by_topic_.end() ? 1.0 : it->second;
}

bool RecordAccumulator::Append(const TopicPartition& tp, const record::Record& record,
                               size_t record_size, SendCallback callback, absl::Time now) {
  auto& queue = QueueFor(tp);
  ProducerBatch* batch = queue.empty() ? nullptr : queue.back().get();
  bool wake = false;
  if (batch == nullptr || batch->closed || batch->full ||
      (batch->record_count() > 0 &&
       batch->size_in_bytes() + record_size > static_cast<size_t>(batch_size_))) {
    wake = true;
    auto fresh = std::make_unique<ProducerBatch>();
    fresh->tp = tp;
    fresh->created = now;
    fresh->compression = compression_;
    fresh->compression_options = compression_options_;
    if (compression_ != record::Compression::kNone)
      fresh->estimated_ratio = EstimatedRatio(tp.topic);
    if (transactional_) {
      fresh->transactional = true;
      fresh->builder.set_transactional(true);
    }
    // A batch.size buffer up front, as Kafka's producer takes one from its
    // pool: the records are written once, not copied as the batch grows.
    fresh->builder.Reserve(
        std::max(static_cast<size_t>(batch_size_), record::kBatchHeaderSize + record_size));
    // And room for as many more records of this size as batch.size holds
    // (capped), so that the per-record vectors do not grow record by record.
    const size_t expected =
        std::min<size_t>(static_cast<size_t>(batch_size_) / std::max<size_t>(record_size, 1) + 1,
                         kMaxReservedRecords);
    fresh->callbacks.reserve(expected);
    fresh->timestamps.reserve(expected);
    queue.push_back(std::move(fresh));
    batch = queue.back().get();
  }
  const bool was_full = batch->size_in_bytes() >= static_cast<size_t>(batch_size_);
  batch->builder.Append(record);
  batch->reserved_bytes += static_cast<int64_t>(record_size);
  batch->callbacks.push_back(std::move(callback));
  batch->timestamps.push_back(record.timestamp);
  return wake || (!was_full && batch->size_in_bytes() >= static_cast<size_t>(batch_size_));
}

std::deque<std::unique_ptr<ProducerBatch>>& RecordAccumulator::QueueFor(const TopicPartition& tp) {
  if (last_queue_ == nullptr || last_tp_ != tp) {
    last_queue_ = &queues_[tp];
    last_tp_ = tp;
  }
  return *last_queue_;
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
    const bool full = IsFull(queue);
    const absl::Time linger_done = head.created + linger_;
    if (full || flush || linger_done <= now) {
      ready.push_back(tp);
    } else {
      *next_check = std::min(*next_check, linger_done);
    }
  }
  return ready;
}

std::unique_ptr<ProducerBatch> RecordAccumulator::Take(const TopicPartition& tp) {
  auto it = queues_.find(tp);
  if (it == queues_.end() || it->second.empty()) return nullptr;
  std::unique_ptr<ProducerBatch> batch = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) {
    queues_.erase(it);
    last_queue_ = nullptr;
  }
  return batch;
}

void RecordAccumulator::UpdateRatio(const ProducerBatch& batch) {
  if (compression_ == record::Compression::kNone || !batch.closed ||
      batch.uncompressed_records_bytes == 0) {
    return;
  }
  const double achieved = static_cast<double>(batch.payload.size() - record::kBatchHeaderSize) /
                          static_cast<double>(batch.uncompressed_records_bytes);
  double& estimate = ratio_by_topic_.try_emplace(batch.tp.topic, 1.0).first->second;
  if (achieved < estimate) {
    estimate = std::max(estimate - kRatioImproveStep, achieved);
  } else if (achieved > estimate) {
    estimate = std::max(estimate + kRatioWorsenStep, achieved);
  }
  estimate = std::max(estimate, kMinRatioEstimate);
}

std::unique_ptr<ProducerBatch> RecordAccumulator::Drain(const TopicPartition& tp) {
  std::unique_ptr<ProducerBatch> batch = Take(tp);
  if (batch == nullptr || batch->closed) return batch;  // a retry: sealed before
  batch->Close();
  UpdateRatio(*batch);
  return batch;
}

void RecordAccumulator::ResetRatio(const std::string& topic, double observed) {
  if (compression_ == record::Compression::kNone) return;
  ratio_by_topic_[topic] = std::max(1.0, observed);
}

absl::StatusOr<std::vector<std::unique_ptr<ProducerBatch>>> SplitBatch(const ProducerBatch& batch,
                                                                       size_t max_records_bytes,
                                                                       double estimated_ratio) {
  std::string built;
  std::string_view payload = batch.payload;
  if (!batch.closed) {
    // Not sealed yet (never the case for a refused batch, but cheap to allow).
    record::RecordBatchBuilder copy = batch.builder;
    built = copy.Build();
    payload = built;
  }
  absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(payload);
  if (!records.ok()) return records.status();
  if (records->size() != batch.callbacks.size()) {
    return absl::InternalError(absl::StrFormat("batch for %s holds %d records but has %d callbacks",
                                               batch.tp.ToString(), records->size(),
                                               batch.callbacks.size()));
  }
  std::vector<std::unique_ptr<ProducerBatch>> pieces;
  int64_t reserved_left = batch.reserved_bytes;
  for (size_t i = 0; i < records->size(); ++i) {
    const record::Record& r = (*records)[i];
    ProducerBatch* piece = pieces.empty() ? nullptr : pieces.back().get();
    if (piece == nullptr ||
        piece->builder.size_in_bytes() - record::kBatchHeaderSize + EstimateRecordSize(r) >
            max_records_bytes) {
      auto fresh = std::make_unique<ProducerBatch>();
      fresh->tp = batch.tp;
      fresh->compression = batch.compression;
      fresh->compression_options = batch.compression_options;
      fresh->estimated_ratio = estimated_ratio;
      fresh->created = batch.created;
      fresh->attempts = std::max(batch.attempts - 1, 0);
      fresh->last_error = batch.last_error;
      fresh->full = true;
      if (batch.transactional) {
        fresh->transactional = true;
        fresh->builder.set_transactional(true);
      }
      pieces.push_back(std::move(fresh));
      piece = pieces.back().get();
    }
    piece->builder.Append(r);
    piece->callbacks.push_back(batch.callbacks[i]);
    piece->timestamps.push_back(batch.timestamps[i]);
    // What Append reserved for the record; the last piece takes whatever is
    // left, so that the pieces release exactly what the batch held.
    const auto reserved = std::min(static_cast<int64_t>(EstimateRecordSize(r)), reserved_left);
    piece->reserved_bytes += reserved;
    reserved_left -= reserved;
  }
  if (!pieces.empty()) pieces.back()->reserved_bytes += reserved_left;
  return pieces;
}

void RecordAccumulator::Reenqueue(std::unique_ptr<ProducerBatch> batch) {
  TopicPartition tp = batch->tp;
  queues_[tp].push_front(std::move(batch));
  last_queue_ = nullptr;
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
      last_queue_ = nullptr;
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
  last_queue_ = nullptr;
  return all;
}

std::vector<std::unique_ptr<ProducerBatch>> RecordAccumulator::RemoveIf(
    const std::function<bool(const ProducerBatch&)>& remove) {
  std::vector<std::unique_ptr<ProducerBatch>> removed;
  for (auto it = queues_.begin(); it != queues_.end();) {
    auto& queue = it->second;
    std::deque<std::unique_ptr<ProducerBatch>> kept;
    for (auto& batch : queue) {
      if (remove(*batch)) {
        removed.push_back(std::move(batch));
      } else {
        kept.push_back(std::move(batch));
      }
    }
    queue = std::move(kept);
    if (queue.empty()) {
      it = queues_.erase(it);
      last_queue_ = nullptr;
    } else {
      ++it;
    }
  }
  return removed;
}

size_t RecordAccumulator::BatchCount(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  return it == queues_.end() ? 0 : it->second.size();
}

bool RecordAccumulator::IsFull(const std::deque<std::unique_ptr<ProducerBatch>>& queue) const {
  const ProducerBatch& head = *queue.front();
  return queue.size() > 1 || head.closed || head.full ||
         head.size_in_bytes() >= static_cast<size_t>(batch_size_);
}

bool RecordAccumulator::HasFullBatch(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  return it != queues_.end() && !it->second.empty() && IsFull(it->second);
}

size_t RecordAccumulator::QueuedBytes(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  if (it == queues_.end()) return 0;
  size_t bytes = 0;
  for (const auto& batch : it->second) bytes += batch->size_in_bytes();
  return bytes;
}

size_t RecordAccumulator::FrontBytes(const TopicPartition& tp) const {
  const ProducerBatch* front = Front(tp);
  return front == nullptr ? 0 : front->size_in_bytes();
}

const ProducerBatch* RecordAccumulator::Front(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  return it == queues_.end() || it->second.empty() ? nullptr : it->second.front().get();
}

std::vector<std::string> RecordAccumulator::Topics() const {
  std::vector<std::string> topics;
  for (const auto& [tp, queue] : queues_) {
    if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
  }
  return topics;
}

}  // namespace strata::client
