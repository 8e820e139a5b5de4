#include "broker/security/quota.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace strata::security {
namespace {

// Kafka's ExpireSensorTask runs every 30 seconds.
constexpr int64_t kExpirySweepIntervalMs = 30 * 1000;

int TypeIndex(QuotaType type) { return static_cast<int>(type); }

}  // namespace

const char* QuotaKey(QuotaType type) {
  switch (type) {
    case QuotaType::kProduce:
      return "producer_byte_rate";
    case QuotaType::kFetch:
      return "consumer_byte_rate";
    case QuotaType::kRequest:
      return "request_percentage";
  }
  return "";
}

ClientQuotaManager::ClientQuotaManager(Options options) : options_(options) {}

void ClientQuotaManager::SetQuotas(
    std::vector<std::pair<QuotaEntity, std::map<std::string, double>>> quotas) {
  absl::flat_hash_map<EntityKey, std::array<std::optional<double>, kNumTypes>> next;
  for (auto& [entity, values] : quotas) {
    if (!entity.has_user() && !entity.has_client_id()) continue;
    EntityKey key{entity.has_user(),
                  entity.user_default,
                  entity.user_default ? std::string() : entity.user.value_or(""),
                  entity.has_client_id(),
                  entity.client_default,
                  entity.client_default ? std::string() : entity.client_id.value_or("")};
    auto& slot = next[key];
    for (QuotaType type : {QuotaType::kProduce, QuotaType::kFetch, QuotaType::kRequest}) {
      if (auto it = values.find(QuotaKey(type)); it != values.end()) {
        slot[TypeIndex(type)] = it->second;
      }
    }
  }
  absl::MutexLock lock(&mu_);
  quotas_ = std::move(next);
}

std::optional<ClientQuotaManager::Resolved> ClientQuotaManager::Resolve(
    QuotaType type, const std::string& user, const std::string& client_id) const {
  const int t = TypeIndex(type);
  auto lookup = [&](const EntityKey& key) -> std::optional<double> {
    auto it = quotas_.find(key);
    if (it == quotas_.end()) return std::nullopt;
    return it->second[t];
  };
  const std::string none;
  // Kafka's precedence; the sensor (metric tags) follows the level.
  const struct {
    EntityKey entity;
    bool user_tag;
    bool client_tag;
  } levels[] = {
      {{true, false, user, true, false, client_id}, true, true},    // 1 user, client
      {{true, false, user, true, true, none}, true, true},          // 2 user, <default> client
      {{true, false, user, false, false, none}, true, false},       // 3 user
      {{true, true, none, true, false, client_id}, true, true},     // 4 <default> user, client
      {{true, true, none, true, true, none}, true, true},           // 5 <default> user and client
      {{true, true, none, false, false, none}, true, false},        // 6 <default> user
      {{false, false, none, true, false, client_id}, false, true},  // 7 client
      {{false, false, none, true, true, none}, false, true},        // 8 <default> client
  };
  for (const auto& level : levels) {
    if (std::optional<double> bound = lookup(level.entity)) {
      return Resolved{*bound, SensorKey{t, level.user_tag, level.user_tag ? user : none,
                                        level.client_tag, level.client_tag ? client_id : none}};
    }
  }
  return std::nullopt;
}

std::optional<double> ClientQuotaManager::QuotaFor(QuotaType type, const std::string& user,
                                                   const std::string& client_id) const {
  absl::ReaderMutexLock lock(&mu_);
  std::optional<Resolved> resolved = Resolve(type, user, client_id);
  if (!resolved) return std::nullopt;
  return resolved->bound;
}

// --- Kafka's SampledStat / Rate ---------------------------------------------

void ClientQuotaManager::Record(Sensor& sensor, double value, int64_t now_ms) const {
  if (sensor.samples.empty()) {
    sensor.samples.emplace_back();
    sensor.samples.back().Reset(now_ms);
    sensor.current = 0;
  }
  Sample* sample = &sensor.samples[sensor.current];
  if (now_ms - sample->start_ms >= options_.window_ms) {
    // Advance: keep one sample more than num_windows (the one being filled
    // plus num_windows whole ones), recycling the oldest.
    const size_t max_samples = static_cast<size_t>(std::max(options_.num_windows, 1)) + 1;
    sensor.current = (sensor.current + 1) % max_samples;
    if (sensor.current >= sensor.samples.size()) {
      sensor.samples.emplace_back();
    }
    sample = &sensor.samples[sensor.current];
    sample->Reset(now_ms);
  }
  sample->value += value;
  sample->event_count += 1;
  sample->last_event_ms = now_ms;
  sensor.last_record_ms = now_ms;
}

void ClientQuotaManager::PurgeObsolete(Sensor& sensor, int64_t now_ms) const {
  // Samples with no event within the monitored span are reset; samples that
  // overlap it are kept even if they started before it.
  const int64_t expire_age = static_cast<int64_t>(options_.num_windows) * options_.window_ms;
  for (Sample& sample : sensor.samples) {
    if (now_ms - sample.last_event_ms >= expire_age) sample.Reset(now_ms);
  }
}

int64_t ClientQuotaManager::WindowSizeMs(Sensor& sensor, int64_t now_ms) const {
  PurgeObsolete(sensor, now_ms);
  if (sensor.samples.empty()) {
    sensor.samples.emplace_back();
    sensor.samples.back().Reset(now_ms);
  }
  int64_t oldest_start = sensor.samples[0].start_ms;
  for (const Sample& sample : sensor.samples)
    oldest_start = std::min(oldest_start, sample.start_ms);
  int64_t elapsed = now_ms - oldest_start;
  // Assume at least num_windows - 1 whole windows before the current one,
  // so the first window (or the first after a long pause) does not read as
  // a burst over a tiny span.
  const int64_t full_windows = elapsed / options_.window_ms;
  const int64_t min_full_windows = static_cast<int64_t>(options_.num_windows) - 1;
  if (full_windows < min_full_windows) {
    elapsed += (min_full_windows - full_windows) * options_.window_ms;
  }
  return std::max<int64_t>(elapsed, 1);
}

double ClientQuotaManager::Measure(Sensor& sensor, int64_t now_ms) const {
  PurgeObsolete(sensor, now_ms);
  double sum = 0;
  for (const Sample& sample : sensor.samples) sum += sample.value;
  return sum / (static_cast<double>(WindowSizeMs(sensor, now_ms)) / 1000.0);
}

// --- Recording ---------------------------------------------------------------

int64_t ClientQuotaManager::RecordAndGetThrottleMs(QuotaType type, const std::string& user,
                                                   const std::string& client_id, double value,
                                                   int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  MaybeExpireSensors(now_ms);
  std::optional<Resolved> resolved = Resolve(type, user, client_id);
  if (!resolved) return 0;

  // Request time is kept as percent-seconds of one thread, as Kafka's
  // nanosToPercentage does, so the rate reads in percent.
  const double recorded = type == QuotaType::kRequest ? value / 10.0 : value;
  Sensor& sensor = sensors_[resolved->sensor];
  Record(sensor, recorded, now_ms);

  const double bound = resolved->bound;
  double throttle_ms;
  if (bound <= 0) {
    // Any use is held the full span; nothing is owed beyond it (a debt that
    // could never drain would outlive the quota being raised).
    sensor.debt = 0;
    sensor.debt_ms = now_ms;
    throttle_ms = static_cast<double>(options_.num_windows) * options_.window_ms;
  } else {
    // The debt: what was recorded, drained at the bound's rate. A clock
    // that stepped back counts as no time passed.
    if (now_ms > sensor.debt_ms) {
      sensor.debt = std::max(
          0.0, sensor.debt - bound * static_cast<double>(now_ms - sensor.debt_ms) / 1000.0);
    }
    sensor.debt_ms = now_ms;
    sensor.debt += recorded;
    // Kafka's first-window allowance: num_windows - 1 windows at the bound.
    const double burst =
        bound * static_cast<double>(options_.num_windows - 1) * options_.window_ms / 1000.0;
    if (sensor.debt <= burst) return 0;
    // Drained back to the allowance after this long, with nothing more
    // recorded.
    throttle_ms = std::round((sensor.debt - burst) / bound * 1000.0);
  }
  if (type == QuotaType::kRequest && throttle_ms > static_cast<double>(options_.window_ms)) {
    // Capped at one window, and so is what is remembered: a debt beyond
    // what one window drains would hold the client for time it was never
    // told of.
    throttle_ms = static_cast<double>(options_.window_ms);
    if (bound > 0) {
      sensor.debt = bound * static_cast<double>(options_.num_windows) * options_.window_ms / 1000.0;
    }
  }
  throttle_ms = std::min(throttle_ms, static_cast<double>(std::numeric_limits<int32_t>::max()));
  return std::max<int64_t>(static_cast<int64_t>(throttle_ms), 0);
}

std::optional<double> ClientQuotaManager::MeasuredRate(QuotaType type, const std::string& user,
                                                       const std::string& client_id,
                                                       int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::optional<Resolved> resolved = Resolve(type, user, client_id);
  if (!resolved) return std::nullopt;
  auto it = sensors_.find(resolved->sensor);
  if (it == sensors_.end()) return std::nullopt;
  return Measure(it->second, now_ms);
}

void ClientQuotaManager::MaybeExpireSensors(int64_t now_ms) {
  if (now_ms - last_expiry_sweep_ms_ < kExpirySweepIntervalMs) return;
  last_expiry_sweep_ms_ = now_ms;
  for (auto it = sensors_.begin(); it != sensors_.end();) {
    if (now_ms - it->second.last_record_ms > options_.sensor_expiry_ms) {
      it = sensors_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t ClientQuotaManager::SensorCount() const {
  absl::ReaderMutexLock lock(&mu_);
  return sensors_.size();
}

}  // namespace strata::security
