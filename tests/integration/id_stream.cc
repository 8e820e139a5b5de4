#include "tests/integration/id_stream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/consumer.h"
#include "client/producer.h"

namespace strata::testing {

std::string IdStreamReport::Summary() const {
  return absl::StrCat("sent ", sent, ", acknowledged ", acknowledged, ", failed ", failed,
                      failed ? absl::StrCat(" — first error: ", first_error) : "", "; read ", read,
                      " (log end offsets total ", log_end_total, "); missing ", missing,
                      ", out of order ", out_of_order, ", duplicates ", duplicates);
}

IdStream::IdStream(std::string bootstrap, std::string topic, int partitions, int rate,
                   size_t value_bytes)
    : bootstrap_(std::move(bootstrap)),
      topic_(std::move(topic)),
      partitions_(partitions),
      rate_(std::max(rate, 1)),
      value_bytes_(value_bytes) {}

IdStream::~IdStream() { Stop(); }

absl::Status IdStream::Start() {
  client::ProducerConfig pc;
  pc.bootstrap_servers = bootstrap_;
  pc.acks = -1;
  pc.request_timeout = absl::Seconds(10);
  pc.delivery_timeout = absl::Seconds(120);
  auto producer = client::Producer::Create(pc);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  sender_ = std::thread([this] {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t id = 0; !stop_.load(); ++id) {
      client::ProducerRecord r;
      r.topic = topic_;
      r.partition = static_cast<int32_t>(id % partitions_);
      r.value = std::to_string(id);
      if (r.value->size() < value_bytes_) r.value->resize(value_bytes_, ' ');
      producer_->Send(std::move(r), [this, id](const absl::StatusOr<client::RecordMetadata>& md) {
        std::lock_guard<std::mutex> l(mu_);
        if (md.ok()) {
          acked_[md->partition].push_back(id);
        } else if (failed_++ == 0) {
          first_error_ = std::string(md.status().message());
        }
      });
      sent_ = id + 1;
      // Paced: id i goes out at start + i / rate.
      std::this_thread::sleep_until(start + std::chrono::microseconds((id + 1) * 1000000 / rate_));
    }
  });
  return absl::OkStatus();
}

void IdStream::Stop() {
  stop_ = true;
  if (sender_.joinable()) sender_.join();
  if (producer_ != nullptr) {
    producer_->Flush();
    producer_->Close();
    producer_.reset();
  }
}

int64_t IdStream::acknowledged() {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = 0;
  for (const auto& [p, ids] : acked_) n += static_cast<int64_t>(ids.size());
  return n;
}

absl::StatusOr<IdStreamReport> IdStream::Check() {
  IdStreamReport report;
  client::ConsumerConfig cc;
  cc.bootstrap_servers = bootstrap_;
  cc.auto_offset_reset = client::OffsetReset::kEarliest;
  auto consumer = client::Consumer::Create(cc);
  if (!consumer.ok()) return consumer.status();
  std::vector<TopicPartition> tps;
  for (int p = 0; p < partitions_; ++p) tps.push_back({topic_, PartitionId(p)});
  (*consumer)->Assign(tps);
  if (absl::Status s = (*consumer)->SeekToBeginning(); !s.ok()) return s;
  auto ends = (*consumer)->ListOffsets(tps, -1);
  if (!ends.ok()) return ends.status();
  for (const auto& [tp, end] : *ends) report.log_end_total += end;
  std::map<int, std::vector<int64_t>> consumed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (report.read < report.log_end_total && std::chrono::steady_clock::now() < deadline) {
    auto records = (*consumer)->Poll(absl::Milliseconds(500));
    if (!records.ok()) continue;
    for (const client::ConsumerRecord& r : *records) {
      consumed[r.partition].push_back(std::stoll(r.value.value_or("-1")));
      ++report.read;
    }
  }

  std::lock_guard<std::mutex> l(mu_);
  report.sent = sent_.load();
  report.failed = failed_;
  report.first_error = first_error_;
  for (int p = 0; p < partitions_; ++p) {
    std::set<int64_t> seen;
    std::vector<int64_t> first_seen_order;
    for (int64_t id : consumed[p]) {
      if (!seen.insert(id).second) {
        if (report.duplicates++ < 10) {
          std::printf("DUPLICATE: id %lld of partition %d\n", static_cast<long long>(id), p);
        }
      } else {
        first_seen_order.push_back(id);
      }
    }
    const std::vector<int64_t>& want = acked_[p];
    report.acknowledged += static_cast<int64_t>(want.size());
    const std::set<int64_t> want_set(want.begin(), want.end());
    for (int64_t id : want) {
      if (!seen.contains(id) && report.missing++ < 10) {
        std::printf("MISSING: id %lld of partition %d\n", static_cast<long long>(id), p);
      }
    }
    // Acknowledged ids, in the order the log holds them, must be ascending
    // (ids of a partition were sent in ascending order).
    int64_t last = -1;
    for (int64_t id : first_seen_order) {
      if (!want_set.contains(id)) continue;
      if (id < last && report.out_of_order++ < 10) {
        std::printf("OUT OF ORDER: id %lld after %lld in partition %d\n",
                    static_cast<long long>(id), static_cast<long long>(last), p);
      }
      last = std::max(last, id);
    }
  }
  return report;
}

}  // namespace strata::testing
