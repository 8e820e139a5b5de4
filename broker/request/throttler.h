// Throttler: client quotas applied to answers (Kafka's ClientQuotaManager at
// work). A transport records what a request used — produce bytes, fetch
// bytes — for the session's user and client id; when that takes the
// client over its quota, the answer carries throttle_time_ms and is held
// back that long before it goes out (a connection answers in order, so
// holding one answer holds the client; Kafka >= 2.0 mutes the channel
// instead, to the same effect). Clients without a quota pay one atomic load.
//
//   auto done2 = Throttled<ProduceResponse>(throttler, QuotaType::kProduce, session,
//                                          [bytes](const ProduceResponse&) { return bytes; },
//                                          std::move(done));
//
// Request quotas (request_percentage, KIP-124) are fed by the transport
// too: it measures the time a request keeps its threads busy with
// NowNanos() and records it as QuotaType::kRequest in milliseconds (the
// Kafka listener's dispatcher does, dispatcher.h); the answer is held by
// the larger of its byte-rate and request throttles.
//
// Held answers run on the throttler's own thread at their time; Stop()
// (or the destructor) runs every held answer at once and joins the thread.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/request/api.h"
#include "broker/security/principal.h"
#include "broker/security/quota.h"
#include "client/common/clock.h"

namespace strata::request {

class Throttler {
 public:
  // Monotonic nanoseconds, for the time requests spend on threads: the
  // clock seam of request quotas (`clock` is the quota windows'). Null:
  // std::chrono::steady_clock.
  using NanoClock = std::function<int64_t()>;

  Throttler(security::ClientQuotaManager::Options options, Clock* clock,
            NanoClock nano_clock = nullptr);
  ~Throttler();
  Throttler(const Throttler&) = delete;
  Throttler& operator=(const Throttler&) = delete;

  // The configured quotas (the metadata image's), replacing the last.
  void SetQuotas(
      std::vector<std::pair<security::QuotaEntity, std::map<std::string, double>>> quotas);

  // Whether any quota is configured: without one nothing is recorded or
  // held, and callers need not build a session.
  bool active() const { return any_quota_.load(std::memory_order_acquire); }
  // Whether some request_percentage quota is configured: without one,
  // requests need not be timed.
  bool request_quota_active() const { return any_request_quota_.load(std::memory_order_acquire); }

  // Records `value` for the session (its user's name and client id) and
  // returns how long to hold its answer back, in ms (0: not at all).
  int64_t Record(security::QuotaType type, const security::Session& session, double value);

  // Now, in monotonic nanoseconds (NanoClock).
  int64_t NowNanos() const;

  // Runs `fn` after `delay_ms` on the throttler's thread; now, on this
  // thread, for 0 or less (or once stopped).
  void After(int64_t delay_ms, std::function<void()> fn);

  void Stop();

  // Quota bookkeeping, for tests.
  security::ClientQuotaManager& quotas() { return quotas_; }

 private:
  void Run();

  security::ClientQuotaManager quotas_;
  Clock* const clock_;
  const NanoClock nano_clock_;
  std::atomic<bool> any_quota_{false};
  std::atomic<bool> any_request_quota_{false};
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::multimap<int64_t, std::function<void()>> held_ ABSL_GUARDED_BY(mu_);  // by due time
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// What a produce request counts against producer_byte_rate, on either
// door: its batches' bytes, and plain records' keys, values and headers
// (what they weigh in a batch, less its few bytes of framing).
double ProduceQuotaBytes(const ProduceRequest& request);

// `done` wrapped: records value(answer) once the answer is known, sets its
// throttle_time_ms, and holds it back that long. `throttler` null or
// without quotas: `done` itself, unwrapped.
template <typename Response>
std::function<void(Response)> Throttled(Throttler* throttler, security::QuotaType type,
                                        security::Session session,
                                        std::function<double(const Response&)> value,
                                        std::function<void(Response)> done) {
  if (throttler == nullptr || !throttler->active()) return done;
  return [throttler, type, session = std::move(session), value = std::move(value),
          done = std::move(done)](Response r) mutable {
    const int64_t delay = throttler->Record(type, session, value(r));
    r.throttle_time_ms = static_cast<int32_t>(std::min<int64_t>(delay, INT32_MAX));
    if (delay <= 0) {
      done(std::move(r));
      return;
    }
    throttler->After(delay,
                     [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  };
}

}  // namespace strata::request
