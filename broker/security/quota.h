// Client quotas (Kafka's ClientQuotaManager and ClientRequestQuotaManager):
// how long to hold back a client that produces, fetches or uses request
// threads faster than its quota allows.
//
// Configured quotas (from the metadata image, kafka-configs --entity-type
// users/clients) map an entity to keys:
//   producer_byte_rate   produce bytes per second
//   consumer_byte_rate   fetch bytes per second
//   request_percentage   percent of one request thread's time, per second
// The quota that applies to (user, client-id) is the first configured of, in
// Kafka's precedence:
//   1 /config/users/<user>/clients/<client-id>
//   2 /config/users/<user>/clients/<default>
//   3 /config/users/<user>
//   4 /config/users/<default>/clients/<client-id>
//   5 /config/users/<default>/clients/<default>
//   6 /config/users/<default>
//   7 /config/clients/<client-id>
//   8 /config/clients/<default>
// Each quota type resolves on its own: a user may have a produce quota at
// level 3 and a fetch quota at level 7.
//
// Usage is measured per quota type by one sensor per *quota entity*, as
// Kafka's metric tags do: every client-id of a user with a level-3 or -6
// quota shares the sensor (user, -); a level-1, -2, -4 or -5 quota gets
// (user, client-id); a level-7 or -8 quota gets (-, client-id).
//
// Throttling. Kafka computes a throttle from its Rate (below):
// (rate - bound) / bound * window span. A client that bursts early is let
// through and then held until the burst's sample ages out of the window,
// after which it may burst again: under a steady overload the rate
// saw-tooths around the bound with the window's period (11 s), so over any
// span shorter than a few windows a limited client measures well over or
// under its quota. Here the throttle comes from a leaky bucket instead
// (KIP-599 chose a token bucket for controller mutations for the same
// reason): every recorded value adds to the sensor's debt, which drains at
// the bound's rate; while the debt is within Kafka's first-window allowance
// (num_windows - 1 windows at the bound) nothing is held, beyond it the
// answer is held until it has drained back:
//     throttle = (debt - bound * (num_windows - 1) * window) / bound
// rounded; for request quotas capped at one window (Kafka's
// ClientRequestQuotaManager; the debt is then cut to what one window
// drains), for byte quotas not capped (as Kafka), except
// to int32 for the wire. A bound <= 0 throttles any use by the full span
// (num_windows windows). A client's first burst and each throttle are what
// Kafka's would be; under a steady overload each answer is held by its own
// size over the bound, so the rate is the quota over any span. A quota
// change keeps the debt (Kafka keeps a sensor's samples).
//
// The measurement, MeasuredRate (for metrics), is Kafka's Rate over a
// SampledStat: num_windows samples of window_ms each (plus the one being
// filled), samples idle for the whole span are reset, and the elapsed time
// divides the sum with at least num_windows - 1 full windows assumed.
//
// Request time is recorded in milliseconds of request-thread time; the rate
// is then a percentage of one thread (value_ms / 10 per second, as Kafka's
// nanosToPercentage).
//
// Sensors with no record for sensor_expiry_ms (an hour, as Kafka's) are
// dropped; the sweep runs inside RecordAndGetThrottleMs at most every 30 s
// of the passed-in time. Clients with no quota cost a lookup and nothing
// else: no sensor.
//
// Pure: time is the caller's now_ms. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace strata::security {

enum class QuotaType { kProduce, kFetch, kRequest };

// The config key of a quota type: "producer_byte_rate", "consumer_byte_rate",
// "request_percentage".
const char* QuotaKey(QuotaType type);

// A quota entity: a user part, a client-id part, or both. A part is present
// when it names someone (user / client_id set) or is the <default> (the
// *_default flag; the name is then ignored).
struct QuotaEntity {
  std::optional<std::string> user = std::nullopt;
  std::optional<std::string> client_id = std::nullopt;
  bool user_default = false;
  bool client_default = false;

  bool has_user() const { return user_default || user.has_value(); }
  bool has_client_id() const { return client_default || client_id.has_value(); }

  static QuotaEntity User(std::string name) {
    return {std::move(name), std::nullopt, false, false};
  }
  static QuotaEntity DefaultUser() { return {std::nullopt, std::nullopt, true, false}; }
  static QuotaEntity ClientId(std::string id) {
    return {std::nullopt, std::move(id), false, false};
  }
  static QuotaEntity DefaultClientId() { return {std::nullopt, std::nullopt, false, true}; }
  // /config/users/<user>/clients/<client-id>; either may be a default with
  // the flags set afterwards.
  static QuotaEntity UserClientId(std::string user, std::string client_id) {
    return {std::move(user), std::move(client_id), false, false};
  }
};

class ClientQuotaManager {
 public:
  struct Options {
    int32_t num_windows = 11;                // quota.window.num
    int64_t window_ms = 1000;                // quota.window.size.seconds
    int64_t sensor_expiry_ms = 3600 * 1000;  // Kafka's inactive sensor expiry
  };

  explicit ClientQuotaManager(Options options);

  ClientQuotaManager(const ClientQuotaManager&) = delete;
  ClientQuotaManager& operator=(const ClientQuotaManager&) = delete;

  // Replaces the configured quotas: entity -> key -> value. Unknown keys
  // are ignored; a later entry for the same entity and key wins. Measured
  // usage is kept (Kafka keeps a sensor's samples when its quota changes).
  void SetQuotas(std::vector<std::pair<QuotaEntity, std::map<std::string, double>>> quotas);

  // Records `value` (bytes for produce / fetch, milliseconds of request
  // thread time for request) for user + client id at now_ms, and returns how
  // long to delay the answer in ms (0: none). No quota applies: 0, nothing
  // recorded. `user` is the principal's name ("alice" of "User:alice").
  int64_t RecordAndGetThrottleMs(QuotaType type, const std::string& user,
                                 const std::string& client_id, double value, int64_t now_ms);

  // The quota that applies (nullopt: none), in the key's unit.
  std::optional<double> QuotaFor(QuotaType type, const std::string& user,
                                 const std::string& client_id) const;

  // The rate measured for the sensor user + client id would record into, at
  // now_ms, in the quota's unit (bytes/s or percent); nullopt when no quota
  // applies or nothing was recorded. For tests and metrics.
  std::optional<double> MeasuredRate(QuotaType type, const std::string& user,
                                     const std::string& client_id, int64_t now_ms);

  // Live sensors (for tests of the idle expiry).
  size_t SensorCount() const;

 private:
  static constexpr int kNumTypes = 3;
  // An entity in the configured-quota map: (has user, user is <default>,
  // user, has client, client is <default>, client id).
  using EntityKey = std::tuple<bool, bool, std::string, bool, bool, std::string>;
  // A sensor: (quota type, has user tag, user, has client tag, client id).
  using SensorKey = std::tuple<int, bool, std::string, bool, std::string>;

  struct Sample {
    double value = 0;
    int64_t event_count = 0;
    int64_t start_ms = 0;
    int64_t last_event_ms = 0;
    void Reset(int64_t now_ms) {
      value = 0;
      event_count = 0;
      start_ms = now_ms;
      last_event_ms = now_ms;
    }
  };

  // Kafka's Rate over a WindowedSum SampledStat (the measurement), and the
  // leaky bucket (the throttle).
  struct Sensor {
    std::vector<Sample> samples;
    size_t current = 0;
    int64_t last_record_ms = 0;
    double debt = 0;      // recorded, not yet drained at the bound's rate
    int64_t debt_ms = 0;  // when debt was last drained
  };

  struct Resolved {
    double bound;
    SensorKey sensor;
  };

  std::optional<Resolved> Resolve(QuotaType type, const std::string& user,
                                  const std::string& client_id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  void Record(Sensor& sensor, double value, int64_t now_ms) const;
  void PurgeObsolete(Sensor& sensor, int64_t now_ms) const;
  // Kafka's Rate.windowSize, in ms (at least 1).
  int64_t WindowSizeMs(Sensor& sensor, int64_t now_ms) const;
  // Kafka's Rate.measure, per second.
  double Measure(Sensor& sensor, int64_t now_ms) const;
  void MaybeExpireSensors(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<EntityKey, std::array<std::optional<double>, kNumTypes>> quotas_
      ABSL_GUARDED_BY(mu_);
  std::map<SensorKey, Sensor> sensors_ ABSL_GUARDED_BY(mu_);
  int64_t last_expiry_sweep_ms_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace strata::security
