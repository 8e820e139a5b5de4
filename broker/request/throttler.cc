#include "broker/request/throttler.h"

#include <chrono>

#include "absl/time/time.h"

namespace strata::request {

Throttler::Throttler(security::ClientQuotaManager::Options options, Clock* clock,
                     NanoClock nano_clock)
    : quotas_(options), clock_(clock), nano_clock_(std::move(nano_clock)) {
  thread_ = std::thread([this] { Run(); });
}

Throttler::~Throttler() { Stop(); }

void Throttler::SetQuotas(
    std::vector<std::pair<security::QuotaEntity, std::map<std::string, double>>> quotas) {
  bool any_request_quota = false;
  for (const auto& [entity, values] : quotas) {
    if (values.contains(security::QuotaKey(security::QuotaType::kRequest))) {
      any_request_quota = true;
    }
  }
  any_quota_.store(!quotas.empty(), std::memory_order_release);
  any_request_quota_.store(any_request_quota, std::memory_order_release);
  quotas_.SetQuotas(std::move(quotas));
}

double ProduceQuotaBytes(const ProduceRequest& request) {
  size_t bytes = 0;
  for (const ProduceTopic& t : request.topics) {
    for (const ProducePartition& p : t.partitions) {
      bytes += p.records.size();
      for (const record::Record& r : p.plain_records) {
        bytes += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
        for (const record::RecordHeader& h : r.headers) {
          bytes += h.key.size() + (h.value ? h.value->size() : 0);
        }
      }
    }
  }
  return static_cast<double>(bytes);
}

int64_t Throttler::Record(security::QuotaType type, const security::Session& session,
                          double value) {
  if (!active()) return 0;
  return quotas_.RecordAndGetThrottleMs(type, session.principal.name, session.client_id, value,
                                        clock_->NowMs());
}

int64_t Throttler::NowNanos() const {
  if (nano_clock_) return nano_clock_();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Throttler::After(int64_t delay_ms, std::function<void()> fn) {
  if (delay_ms > 0) {
    absl::MutexLock l(&mu_);
    if (!stopping_) {
      auto it = held_.emplace(clock_->NowMs() + delay_ms, std::move(fn));
      if (it == held_.begin()) wake_.Signal();  // due before what the thread waits for
      return;
    }
  }
  fn();
}

void Throttler::Stop() {
  std::multimap<int64_t, std::function<void()>> left;
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock l(&mu_);
    left.swap(held_);
  }
  for (auto& [due, fn] : left) fn();
}

void Throttler::Run() {
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    const int64_t now = clock_->NowMs();
    if (!held_.empty() && held_.begin()->first <= now) {
      std::function<void()> fn = std::move(held_.begin()->second);
      held_.erase(held_.begin());
      mu_.Unlock();
      fn();
      mu_.Lock();
      continue;
    }
    // Wake for the next due answer, an earlier one, or Stop; at most every
    // 100 ms, so a clock that is not the wall clock (tests) is followed too.
    const int64_t wait_ms =
        held_.empty() ? 100 : std::min<int64_t>(100, held_.begin()->first - now);
    wake_.WaitWithTimeout(&mu_, absl::Milliseconds(wait_ms));
  }
}

}  // namespace strata::request
