#include "tools/offsets_commands.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fmt/format.h"
#include "tools/json_input.h"
#include "tools/kafka_exception.h"

namespace strata::tools {
namespace {

using nlohmann::json;

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// A JSON value as Kafka's Json.to[T] takes it: an integer in range.
template <typename T>
std::optional<T> IntegerField(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  const int64_t v = it->get<int64_t>();
  if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return std::nullopt;
  return static_cast<T>(v);
}

// Kafka's IncludeList: a regular expression matched against the whole
// topic name (commas taken as alternatives, blanks ignored, as Kafka's
// tools do).
absl::StatusOr<std::regex> TopicRegex(std::string pattern) {
  std::erase_if(pattern, [](char c) { return c == ' ' || c == '\t' || c == '\n'; });
  std::replace(pattern.begin(), pattern.end(), ',', '|');
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Invalid(fmt::format("Invalid topic pattern {}: {}", pattern, e.what()));
  }
}

std::optional<int32_t> PartitionNumber(std::string_view s) {
  int32_t v = 0;
  if (s.empty() || !absl::SimpleAtoi(absl::string_view(s.data(), s.size()), &v) || v < 0) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

// --- delete-records ---

absl::StatusOr<std::vector<std::pair<TopicPartition, int64_t>>> ParseDeleteRecordsJson(
    const std::string& text) {
  absl::StatusOr<json> parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return Invalid("The input string is not a valid JSON: not an object");
  int64_t version = 1;
  if (parsed->contains("version")) {
    std::optional<int32_t> v = IntegerField<int32_t>(*parsed, "version");
    if (!v) return Invalid("Not supported version field value " + (*parsed)["version"].dump());
    version = *v;
  }
  if (version != 1) return Invalid(fmt::format("Not supported version field value {}", version));
  auto partitions = parsed->find("partitions");
  if (partitions == parsed->end() || !partitions->is_array()) {
    return Invalid("Missing partitions field");
  }
  std::vector<std::pair<TopicPartition, int64_t>> out;
  std::set<TopicPartition> seen;
  std::vector<std::string> duplicates;
  for (const json& p : *partitions) {
    if (!p.is_object()) return Invalid("Each entry of partitions must be an object: " + p.dump());
    auto topic = p.find("topic");
    if (topic == p.end() || !topic->is_string() || topic->get<std::string>().empty()) {
      return Invalid("Missing or invalid topic field in " + p.dump());
    }
    std::optional<int32_t> partition = IntegerField<int32_t>(p, "partition");
    if (!partition || *partition < 0)
      return Invalid("Missing or invalid partition field in " + p.dump());
    std::optional<int64_t> offset = IntegerField<int64_t>(p, "offset");
    if (!offset || *offset < -1) return Invalid("Missing or invalid offset field in " + p.dump());
    TopicPartition tp{topic->get<std::string>(), PartitionId(*partition)};
    if (!seen.insert(tp).second) duplicates.push_back(tp.ToString());
    out.emplace_back(std::move(tp), *offset);
  }
  if (!duplicates.empty()) {
    return Invalid("Offset json file contains duplicate topic partitions: " +
                   absl::StrJoin(duplicates, ","));
  }
  if (out.empty()) return Invalid("The offset json file lists no partitions");
  return out;
}

int RunDeleteRecords(client::Admin& admin, const std::string& offset_json_file, std::ostream& out,
                     std::ostream& err) {
  std::ifstream in(offset_json_file);
  if (!in) {
    err << "Error: cannot read " << offset_json_file << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<std::pair<TopicPartition, int64_t>>> offsets =
      ParseDeleteRecordsJson(text.str());
  if (!offsets.ok()) {
    err << "Error: " << offsets.status().message() << "\n";
    return 1;
  }
  out << "Executing records delete operation\n";
  std::map<TopicPartition, int64_t> request(offsets->begin(), offsets->end());
  absl::StatusOr<std::map<TopicPartition, client::DeletedRecords>> deleted =
      admin.DeleteRecords(request);
  if (!deleted.ok()) {
    err << "Error: " << KafkaExceptionText(deleted.status()) << "\n";
    return 1;
  }
  out << "Records delete operation completed:\n";
  for (const auto& [tp, offset] : *offsets) {
    const client::DeletedRecords& r = deleted->at(tp);
    if (r.status.ok()) {
      out << "partition: " << tp.ToString() << "\tlow_watermark: " << r.low_watermark << "\n";
    } else {
      out << "partition: " << tp.ToString() << "\terror: " << KafkaExceptionText(r.status) << "\n";
    }
  }
  return 0;
}

// --- get-offsets ---

absl::StatusOr<int64_t> ParseOffsetsTime(const std::string& time) {
  if (time == "latest") return -1;
  if (time == "earliest") return -2;
  if (time == "max-timestamp") return -3;
  int64_t v = 0;
  if (!absl::SimpleAtoi(time, &v) || v < -3) {
    return Invalid(
        fmt::format("Malformed time argument {}, please use -1 or latest / -2 or earliest / -3 or "
                    "max-timestamp, or a specified long format timestamp",
                    time));
  }
  return v;
}

absl::StatusOr<OffsetsFilter> ParseOffsetsFilter(const GetOffsetsOptions& o) {
  if (o.topic_partitions && (o.topic || o.partitions)) {
    return Invalid("--topic-partitions cannot be used with --topic or --partitions");
  }
  if (!o.topic_partitions) {
    absl::StatusOr<std::regex> topic = TopicRegex(o.topic.value_or(".*"));
    if (!topic.ok()) return topic.status();
    std::set<int32_t> ids;
    if (o.partitions && !o.partitions->empty()) {
      for (absl::string_view part : absl::StrSplit(*o.partitions, ',')) {
        std::optional<int32_t> id = PartitionNumber(std::string(part));
        if (!id) {
          return Invalid(
              "--partitions expects a comma separated list of numeric partition ids, but "
              "received: " +
              *o.partitions);
        }
        ids.insert(*id);
      }
    }
    auto re = std::make_shared<std::regex>(*topic);
    OffsetsFilter f;
    f.topic = [re](const std::string& t) { return std::regex_match(t, *re); };
    f.partition = [re, ids](const std::string& t, int32_t p) {
      return std::regex_match(t, *re) && (ids.empty() || ids.contains(p));
    };
    return f;
  }
  // Rules "TOPIC_REGEX(:PARTITION|:LOW-HIGH|:LOW-|:-HIGH)?", any of which
  // may match (GetOffsetShell's TopicPartitionPattern).
  struct Rule {
    std::shared_ptr<std::regex> topic;
    int32_t low = 0;
    int32_t high = std::numeric_limits<int32_t>::max();  // exclusive
  };
  static const std::regex kRule("([^:,]*)(?::(?:([0-9]*)|(?:([0-9]*)-([0-9]*))))?");
  std::vector<Rule> rules;
  for (absl::string_view spec_view : absl::StrSplit(*o.topic_partitions, ',')) {
    const std::string spec(spec_view);
    std::smatch m;
    if (!std::regex_match(spec, m, kRule)) return Invalid("Invalid rule specification: " + spec);
    Rule rule;
    absl::StatusOr<std::regex> topic = TopicRegex(m[1].length() > 0 ? m[1].str() : ".*");
    if (!topic.ok()) return topic.status();
    rule.topic = std::make_shared<std::regex>(*topic);
    auto number = [&](int group) -> std::optional<int32_t> {
      if (m[group].length() == 0) return std::nullopt;
      return PartitionNumber(m[group].str());
    };
    if (m[2].length() > 0) {
      std::optional<int32_t> p = number(2);
      if (!p) return Invalid("Invalid rule specification: " + spec);
      rule.low = *p;
      rule.high = *p == std::numeric_limits<int32_t>::max() ? *p : *p + 1;
    } else {
      if (m[3].length() > 0 && !number(3)) return Invalid("Invalid rule specification: " + spec);
      if (m[4].length() > 0 && !number(4)) return Invalid("Invalid rule specification: " + spec);
      rule.low = number(3).value_or(0);
      rule.high = number(4).value_or(std::numeric_limits<int32_t>::max());
    }
    rules.push_back(std::move(rule));
  }
  OffsetsFilter f;
  f.topic = [rules](const std::string& t) {
    return std::any_of(rules.begin(), rules.end(),
                       [&](const Rule& r) { return std::regex_match(t, *r.topic); });
  };
  f.partition = [rules](const std::string& t, int32_t p) {
    return std::any_of(rules.begin(), rules.end(), [&](const Rule& r) {
      return std::regex_match(t, *r.topic) && p >= r.low && p < r.high;
    });
  };
  return f;
}

int RunGetOffsets(client::Admin& admin, const GetOffsetsOptions& o, std::ostream& out,
                  std::ostream& err) {
  absl::StatusOr<OffsetsFilter> filter = ParseOffsetsFilter(o);
  if (!filter.ok()) {
    err << "Error occurred: " << filter.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<int64_t> time = ParseOffsetsTime(o.time);
  if (!time.ok()) {
    err << "Error occurred: " << time.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<std::string>> topics = admin.ListTopics(!o.exclude_internal_topics);
  if (!topics.ok()) {
    err << "Error occurred: " << KafkaExceptionText(topics.status()) << "\n";
    return 1;
  }
  std::vector<std::string> wanted;
  for (const std::string& t : *topics) {
    if (filter->topic(t)) wanted.push_back(t);
  }
  std::map<TopicPartition, int64_t> timestamps;
  if (!wanted.empty()) {
    absl::StatusOr<v1::DescribeTopicsResponse> described =
        admin.DescribeTopics(wanted, !o.exclude_internal_topics);
    if (!described.ok()) {
      err << "Error occurred: " << KafkaExceptionText(described.status()) << "\n";
      return 1;
    }
    for (const v1::TopicDescription& t : described->topics()) {
      if (t.error() != v1::NONE) continue;  // deleted meanwhile
      for (const v1::PartitionDescription& p : t.partitions()) {
        if (filter->partition(t.name(), p.partition())) {
          timestamps[TopicPartition{t.name(), PartitionId(p.partition())}] = *time;
        }
      }
    }
  }
  if (timestamps.empty()) {
    err << "Error occurred: Could not match any topic-partitions with the specified filters\n";
    return 1;
  }
  absl::StatusOr<std::map<TopicPartition, client::ListedOffset>> offsets =
      admin.ListOffsets(timestamps);
  if (!offsets.ok()) {
    err << "Error occurred: " << KafkaExceptionText(offsets.status()) << "\n";
    return 1;
  }
  for (const auto& [tp, listed] : *offsets) {  // sorted by topic, then partition
    if (!listed.status.ok()) {
      err << "Skip getting offsets for topic-partition " << tp.topic << ":" << tp.partition.value()
          << " due to error: " << listed.status.message() << "\n";
      continue;
    }
    if (listed.offset < 0) continue;  // no record that recent
    out << tp.topic << ":" << tp.partition.value() << ":" << listed.offset << "\n";
  }
  return 0;
}

}  // namespace strata::tools
