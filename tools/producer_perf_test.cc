#include "tools/producer_perf_test.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "client/producer.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

// Kafka keeps at most about 500,000 latency samples.
constexpr int64_t kMaxSamples = 500000;
// --record-size when neither it nor --payload-file is given.
constexpr int32_t kDefaultRecordSize = 100;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Mb(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// What Kafka's Uuid.randomUuid().toString() looks like: 16 random bytes in
// URL-safe base64 without padding (22 characters).
std::string RandomUuid() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device() ^
                      static_cast<uint64_t>(NowMs()));
  std::string out;
  for (int i = 0; i < 22; ++i) out += kAlphabet[rng() % 64];
  return out;
}

}  // namespace

absl::StatusOr<TransactionPlan> PlanTransactions(const ProducerPerfOptions& options,
                                                 const std::map<std::string, std::string>& props) {
  if (options.transaction_duration_ms && *options.transaction_duration_ms <= 0) {
    return absl::InvalidArgumentError("--transaction-duration-ms should be greater than zero");
  }
  if (options.transaction_records && *options.transaction_records <= 0) {
    return absl::InvalidArgumentError("--transaction-records should be greater than zero");
  }
  TransactionPlan plan;
  auto in_props = props.find("transactional.id");
  plan.enabled = options.transaction_duration_ms || options.transaction_records ||
                 options.transactional_id || in_props != props.end();
  if (!plan.enabled) return plan;
  plan.transactional_id = options.transactional_id ? *options.transactional_id
                          : in_props != props.end()
                              ? in_props->second
                              : std::string(kDefaultTransactionIdPrefix) + RandomUuid();
  plan.duration_ms = options.transaction_duration_ms;
  plan.records = options.transaction_records;
  if (!plan.duration_ms && !plan.records) plan.duration_ms = kDefaultTransactionDurationMs;
  return plan;
}

PerfStats::PerfStats(int64_t num_records, int64_t start_ms, int64_t reporting_interval_ms)
    : start_ms_(start_ms),
      interval_ms_(reporting_interval_ms),
      sampling_(std::max<int64_t>(
          1, num_records / std::min(num_records > 0 ? num_records : 1, kMaxSamples))),
      window_start_ms_(start_ms) {}

std::optional<std::string> PerfStats::Record(int64_t latency_ms, int64_t bytes, int64_t now_ms) {
  ++count_;
  bytes_ += bytes;
  total_latency_ += latency_ms;
  max_latency_ = std::max(max_latency_, latency_ms);
  ++window_count_;
  window_bytes_ += bytes;
  window_latency_ += latency_ms;
  window_max_ = std::max(window_max_, latency_ms);
  if ((count_ - 1) % sampling_ == 0) samples_.push_back(latency_ms);
  if (now_ms - window_start_ms_ < interval_ms_) return std::nullopt;
  std::string line = Window(now_ms);
  window_start_ms_ = now_ms;
  window_count_ = window_bytes_ = window_latency_ = window_max_ = 0;
  return line;
}

std::string PerfStats::Window(int64_t now_ms) const {
  const double secs = std::max<int64_t>(1, now_ms - window_start_ms_) / 1000.0;
  return fmt::format(
      "{} records sent, {:.1f} records/sec ({:.2f} MB/sec), {:.1f} ms avg latency, {:.1f} ms max "
      "latency.",
      window_count_, window_count_ / secs, Mb(window_bytes_) / secs,
      window_count_ ? static_cast<double>(window_latency_) / window_count_ : 0.0,
      static_cast<double>(window_max_));
}

std::string PerfStats::Summary(int64_t now_ms) const {
  const double secs = std::max<int64_t>(1, now_ms - start_ms_) / 1000.0;
  std::vector<int64_t> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) -> int64_t {
    if (sorted.empty()) return 0;
    return sorted[std::min(sorted.size() - 1,
                           static_cast<size_t>(p * static_cast<double>(sorted.size())))];
  };
  return fmt::format(
      "{} records sent, {:f} records/sec ({:.2f} MB/sec), {:.2f} ms avg latency, {:.2f} ms max "
      "latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
      count_, count_ / secs, Mb(bytes_) / secs,
      count_ ? static_cast<double>(total_latency_) / count_ : 0.0,
      static_cast<double>(max_latency_), pct(0.5), pct(0.95), pct(0.99), pct(0.999));
}

absl::StatusOr<std::vector<std::string>> ReadPayloads(const std::string& path,
                                                      const std::string& delimiter) {
  const std::string sep = delimiter == "\\n" ? "\n" : delimiter;
  if (sep.empty()) return absl::InvalidArgumentError("--payload-delimiter must not be empty");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("Cannot read the payload file {}", path));
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> payloads;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = text.find(sep, pos);
    if (end == std::string::npos) {
      payloads.push_back(text.substr(pos));
      break;
    }
    payloads.push_back(text.substr(pos, end - pos));
    pos = end + sep.size();
  }
  while (!payloads.empty() && payloads.back().empty()) payloads.pop_back();
  if (payloads.empty()) {
    return absl::InvalidArgumentError("File does not exist or empty file provided.");
  }
  return payloads;
}

int RunProducerPerfTest(const ProducerPerfOptions& options, std::ostream& out, std::ostream& err) {
  if (options.record_size && options.payload_file) {
    err << "Either --record-size or --payload-file must be specified but not both.\n";
    return 1;
  }
  const int32_t record_size = options.record_size.value_or(kDefaultRecordSize);
  if (options.num_records <= 0 || record_size <= 0) {
    err << "--num-records and --record-size must be positive\n";
    return 1;
  }
  std::vector<std::string> payloads;
  if (options.payload_file) {
    out << "Reading payloads from: " << std::filesystem::absolute(*options.payload_file).string()
        << "\n";
    absl::StatusOr<std::vector<std::string>> read =
        ReadPayloads(*options.payload_file, options.payload_delimiter);
    if (!read.ok()) {
      err << read.status().message() << "\n";
      return 1;
    }
    payloads = *std::move(read);
    out << "Number of messages read: " << payloads.size() << "\n" << std::flush;
  }
  absl::StatusOr<client::Properties> props = ParseKeyValueArgs(options.producer_props);
  if (!props.ok()) {
    err << props.status().message() << "\n";
    return 1;
  }
  if (options.producer_config) {
    absl::StatusOr<client::Properties> file = LoadPropertiesFile(*options.producer_config);
    if (!file.ok()) {
      err << file.status().message() << "\n";
      return 1;
    }
    for (auto& [key, value] : *props) (*file)[key] = std::move(value);
    props = std::move(file);
  }
  if (options.bootstrap_server) (*props)["bootstrap.servers"] = *options.bootstrap_server;
  if (!props->contains("bootstrap.servers")) {
    err << "Missing bootstrap.servers: give --bootstrap-server or --producer-props "
           "bootstrap.servers=H:P\n";
    return 1;
  }
  absl::StatusOr<TransactionPlan> plan = PlanTransactions(options, *props);
  if (!plan.ok()) {
    err << plan.status().message() << "\n";
    return 1;
  }
  if (plan->enabled) (*props)["transactional.id"] = plan->transactional_id;
  std::vector<std::string> ignored;
  absl::StatusOr<client::ProducerConfig> config =
      client::ProducerConfig::FromProperties(*props, &ignored);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::unique_ptr<client::Producer>> producer = client::Producer::Create(*config);
  if (!producer.ok()) {
    err << producer.status().message() << "\n";
    return 1;
  }
  if (plan->enabled) {
    if (absl::Status s = (*producer)->InitTransactions(); !s.ok()) {
      err << "initTransactions failed: " << s.message() << "\n";
      return 1;
    }
  }

  // Without a payload file, one payload of random uppercase letters, as
  // Kafka's tool sends.
  std::mt19937 rng(42);
  if (payloads.empty()) {
    std::string payload(static_cast<size_t>(record_size), 'A');
    for (char& c : payload) c = static_cast<char>('A' + rng() % 26);
    payloads.push_back(std::move(payload));
  }

  const int64_t start = NowMs();
  // What the acknowledgements update, from the producer's sender thread.
  // Each record's callback holds a pointer to it and two 32-bit numbers,
  // small enough for std::function to keep without a heap allocation.
  struct Acks {
    absl::Mutex mu;
    PerfStats stats;
    std::ostream* out;
    int64_t start;
    std::atomic<int64_t> failures{0};
    std::string first_error;
  } acks{.mu = {}, .stats = PerfStats(options.num_records, start, options.reporting_interval_ms),
         .out = &out, .start = start, .failures = {0}, .first_error = {}};
  absl::Mutex& mu = acks.mu;
  PerfStats& stats = acks.stats;
  std::atomic<int64_t>& failures = acks.failures;
  std::string& first_error = acks.first_error;
  // Kafka's loop: a transaction begins before its first record and commits
  // after the record that finds it old enough (or, here, full enough).
  int64_t transaction_size = 0;
  int64_t transaction_start = 0;
  absl::Status transaction_error;
  for (int64_t i = 0; i < options.num_records; ++i) {
    if (options.throughput > 0) {
      // Hold the send rate to the target.
      const int64_t due =
          start + static_cast<int64_t>(static_cast<double>(i) * 1000.0 / options.throughput);
      const int64_t wait = due - NowMs();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
    client::ProducerRecord record;
    record.topic = options.topic;
    const std::string& payload =
        payloads.size() == 1 ? payloads.front() : payloads[rng() % payloads.size()];
    record.value = payload;
    const auto bytes = static_cast<int64_t>(payload.size());
    if (plan->enabled && transaction_size == 0) {
      transaction_error = (*producer)->BeginTransaction();
      if (!transaction_error.ok()) break;
      transaction_start = NowMs();
    }
    const int64_t sent_at = NowMs();
    (*producer)->Send(
        std::move(record),
        [a = &acks, sent = static_cast<int32_t>(sent_at - start),
         size = static_cast<int32_t>(bytes)](const absl::StatusOr<client::RecordMetadata>& md) {
          const int64_t now = NowMs();
          absl::MutexLock l(&a->mu);
          if (!md.ok()) {
            if (a->failures.fetch_add(1) == 0) a->first_error = std::string(md.status().message());
            return;
          }
          if (std::optional<std::string> line = a->stats.Record(now - a->start - sent, size, now)) {
            *a->out << *line << "\n" << std::flush;
          }
        });
    ++transaction_size;
    if (plan->enabled &&
        ((plan->duration_ms && *plan->duration_ms <= sent_at - transaction_start) ||
         (plan->records && transaction_size >= *plan->records))) {
      transaction_error = (*producer)->CommitTransaction();
      if (!transaction_error.ok()) break;
      transaction_size = 0;
    }
  }
  if (plan->enabled && transaction_error.ok() && transaction_size > 0) {
    transaction_error = (*producer)->CommitTransaction();
  }
  (*producer)->Flush();
  (*producer)->Close();
  absl::MutexLock l(&mu);
  out << stats.Summary(NowMs()) << "\n";
  if (!transaction_error.ok()) {
    err << "The transaction failed: " << transaction_error.message() << "\n";
    return 1;
  }
  if (failures.load() > 0) {
    err << failures.load() << " records failed; the first: " << first_error << "\n";
    return 1;
  }
  return 0;
}

}  // namespace strata::tools
