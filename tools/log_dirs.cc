#include "tools/log_dirs.h"

#include <algorithm>
#include <limits>
#include <ostream>
#include <utility>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/errors.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tools/config_command.h"
#include "tools/kafka_exception.h"

namespace strata::tools {
namespace {

// Kafka's words once the arguments are in.
constexpr char kQuerying[] = "Querying brokers for log directories information";

// `items` reordered by `order` (indices into it).
template <typename T>
std::vector<T> Reordered(const std::vector<T>& items, const std::vector<size_t>& order) {
  std::vector<T> out;
  out.reserve(order.size());
  for (size_t i : order) out.push_back(items[i]);
  return out;
}

// Java's TopicPartition.hashCode: 31 * (31 + partition) + topic.hashCode().
int32_t TopicPartitionHash(const std::string& topic, int32_t partition) {
  const uint32_t result =
      31u * (31u + static_cast<uint32_t>(partition)) + static_cast<uint32_t>(JavaStringHash(topic));
  return static_cast<int32_t>(result);
}

using Json = nlohmann::ordered_json;

// A JSON object as Jackson writes Kafka's tool's: each object is a
// java.util.HashMap<String, Object> (`new HashMap<>() {{ put(..); }}`, the
// default capacity 16) filled with `entries` in this order, and Jackson
// writes a map's keys in its iteration order -- by bucket of the key's
// String.hashCode, so {"brokers":..,"version":1}, not as put.
Json InJavaHashMapOrder(std::vector<std::pair<std::string, Json>> entries) {
  std::vector<int32_t> hashes;
  for (const auto& [key, value] : entries) hashes.push_back(JavaStringHash(key));
  Json out = Json::object();
  for (size_t i : JavaHashMapOrder(hashes, 16)) {
    out[entries[i].first] = std::move(entries[i].second);
  }
  return out;
}

struct Replica {
  std::string topic;
  int32_t partition = 0;
  const v1::LogDirPartition* info = nullptr;
};

// One log dir's partitions as the tool prints them: the admin client puts
// them in a HashMap (in the broker's order), the tool filters that into
// another HashMap.
std::vector<Replica> PartitionsInJavaOrder(const v1::LogDirDescription& dir,
                                           const std::set<std::string>& topics) {
  std::vector<Replica> all;
  for (const v1::LogDirTopic& t : dir.topics()) {
    for (const v1::LogDirPartition& p : t.partitions()) {
      all.push_back({t.name(), p.partition(), &p});
    }
  }
  auto hashes = [](const std::vector<Replica>& replicas) {
    std::vector<int32_t> out;
    for (const Replica& r : replicas) out.push_back(TopicPartitionHash(r.topic, r.partition));
    return out;
  };
  std::vector<Replica> described = Reordered(all, JavaHashMapOrder(hashes(all), 16));
  std::vector<Replica> kept;
  for (Replica& r : described) {
    if (topics.empty() || topics.contains(r.topic)) kept.push_back(std::move(r));
  }
  return Reordered(kept, JavaHashMapOrder(hashes(kept), 16));
}

}  // namespace

absl::Status ValidateLogDirsOptions(const LogDirsOptions& options) {
  if (!options.bootstrap_server.has_value()) {
    return absl::InvalidArgumentError("Missing required argument \"[bootstrap-server]\"");
  }
  if (!options.describe) {
    return absl::InvalidArgumentError("Missing required argument \"[describe]\"");
  }
  return absl::OkStatus();
}

std::set<std::string> ParseTopicList(const std::string& list) {
  std::set<std::string> out;
  for (absl::string_view t : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    out.emplace(std::string(t));
  }
  return out;
}

absl::StatusOr<std::vector<int32_t>> ParseLogDirsBrokerList(const std::string& list) {
  std::vector<int32_t> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    // Integer.valueOf: an optional sign, then decimal digits, in range.
    auto refuse = [&] {
      return absl::InvalidArgumentError(fmt::format("For input string: \"{}\"", std::string(item)));
    };
    absl::string_view digits = item;
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
      digits.remove_prefix(1);
    }
    if (digits.empty() || digits.size() > 10) return refuse();
    int64_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return refuse();
      value = value * 10 + (c - '0');
    }
    if (negative) value = -value;
    if (value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max()) {
      return refuse();
    }
    const int32_t id = static_cast<int32_t>(value);
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

std::vector<int32_t> InJavaSetOrder(const std::vector<int32_t>& ids) {
  // new HashSet<>(c): a table for max(c.size() / .75 + 1, 16) entries.
  const size_t capacity = std::max<size_t>(ids.size() * 4 / 3 + 1, 16);
  return Reordered(ids, JavaHashMapOrder(ids, capacity));
}

std::string FormatLogDirsJson(
    const std::vector<std::pair<int32_t, v1::DescribeLogDirsResponse>>& brokers,
    const std::set<std::string>& topics) {
  Json::array_t broker_list;
  for (const auto& [id, answer] : brokers) {
    // The admin client's map of each broker's log dirs: a HashMap sized for
    // them, keyed by path.
    std::vector<const v1::LogDirDescription*> dirs;
    std::vector<int32_t> hashes;
    for (const v1::LogDirDescription& d : answer.log_dirs()) {
      dirs.push_back(&d);
      hashes.push_back(JavaStringHash(d.log_dir()));
    }
    Json::array_t dir_list;
    for (const v1::LogDirDescription* d : Reordered(dirs, JavaHashMapOrder(hashes))) {
      Json::array_t partitions;
      for (const Replica& r : PartitionsInJavaOrder(*d, topics)) {
        partitions.push_back(InJavaHashMapOrder({
            {"partition", fmt::format("{}-{}", r.topic, r.partition)},
            {"size", r.info->size()},
            {"offsetLag", r.info->offset_lag()},
            {"isFuture", r.info->is_future()},
        }));
      }
      dir_list.push_back(InJavaHashMapOrder({
          {"logDir", d->log_dir()},
          {"error", d->error() == v1::NONE ? Json(nullptr) : Json(KafkaExceptionClass(d->error()))},
          {"partitions", std::move(partitions)},
      }));
    }
    broker_list.push_back(InJavaHashMapOrder({{"broker", id}, {"logDirs", std::move(dir_list)}}));
  }
  return InJavaHashMapOrder({{"version", 1}, {"brokers", std::move(broker_list)}}).dump();
}

int RunLogDirs(client::Admin& admin, const LogDirsOptions& options, std::ostream& out,
               std::ostream& err) {
  const std::set<std::string> topics = ParseTopicList(options.topic_list);
  absl::StatusOr<std::vector<int32_t>> input = ParseLogDirsBrokerList(options.broker_list);
  if (!input.ok()) {
    err << input.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<v1::DescribeClusterResponse> cluster = admin.DescribeCluster();
  if (!cluster.ok()) {
    err << KafkaExceptionText(cluster.status()) << "\n";
    return 1;
  }
  // Kafka's describeCluster().nodes(): the running brokers.
  std::vector<int32_t> cluster_brokers;
  for (const v1::BrokerDescription& b : cluster->brokers()) {
    if (!b.fenced() && !b.endpoints().empty()) cluster_brokers.push_back(b.id());
  }
  cluster_brokers = InJavaSetOrder(cluster_brokers);
  auto in_cluster = [&](int32_t id) {
    return std::find(cluster_brokers.begin(), cluster_brokers.end(), id) != cluster_brokers.end();
  };
  std::vector<int32_t> existing, missing;
  for (int32_t id : InJavaSetOrder(*input)) (in_cluster(id) ? existing : missing).push_back(id);
  if (input->empty()) existing = cluster_brokers;
  if (!missing.empty()) {
    err << fmt::format(
               "ERROR: The given brokers do not exist from --broker-list: {}. Current existent "
               "brokers: {}",
               absl::StrJoin(missing, ","), absl::StrJoin(cluster_brokers, ","))
        << "\n";
    return 1;
  }

  out << kQuerying << "\n";
  out.flush();
  absl::StatusOr<std::map<int32_t, absl::StatusOr<v1::DescribeLogDirsResponse>>> answers =
      admin.DescribeLogDirs(existing);
  if (!answers.ok()) {
    err << KafkaExceptionText(answers.status()) << "\n";
    return 1;
  }
  // The admin client's answers by broker: a HashMap sized for them.
  std::vector<int32_t> order = Reordered(existing, JavaHashMapOrder(existing));
  std::vector<std::pair<int32_t, v1::DescribeLogDirsResponse>> by_broker;
  for (int32_t id : order) {
    const absl::StatusOr<v1::DescribeLogDirsResponse>& answer = answers->at(id);
    if (!answer.ok()) {
      err << KafkaExceptionText(answer.status()) << "\n";
      return 1;
    }
    by_broker.emplace_back(id, *answer);
  }
  out << "Received log directory information from brokers " << absl::StrJoin(existing, ",") << "\n";
  out << FormatLogDirsJson(by_broker, topics) << "\n";
  return 0;
}

}  // namespace strata::tools
