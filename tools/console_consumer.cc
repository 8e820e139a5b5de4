#include "tools/console_consumer.h"

#include <algorithm>
#include <ostream>
#include <random>

#include "absl/strings/numbers.h"
#include "client/consumer.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

absl::Status ReadBool(const client::Properties& props, const std::string& key, bool* out) {
  auto it = props.find(key);
  if (it == props.end()) return absl::OkStatus();
  if (it->second == "true") {
    *out = true;
  } else if (it->second == "false") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("Invalid value {} for property {}: expected true or false", it->second, key));
  }
  return absl::OkStatus();
}

void ReadString(const client::Properties& props, const std::string& key, std::string* out) {
  if (auto it = props.find(key); it != props.end()) *out = it->second;
}

}  // namespace

absl::StatusOr<MessageFormatter> MessageFormatter::FromProperties(const client::Properties& props) {
  MessageFormatter f;
  for (auto [key, field] : std::initializer_list<std::pair<const char*, bool*>>{
           {"print.timestamp", &f.print_timestamp_},
           {"print.partition", &f.print_partition_},
           {"print.offset", &f.print_offset_},
           {"print.headers", &f.print_headers_},
           {"print.key", &f.print_key_},
           {"print.value", &f.print_value_}}) {
    absl::Status s = ReadBool(props, key, field);
    if (!s.ok()) return s;
  }
  ReadString(props, "key.separator", &f.key_separator_);
  ReadString(props, "line.separator", &f.line_separator_);
  ReadString(props, "headers.separator", &f.headers_separator_);
  ReadString(props, "headers.key.separator", &f.headers_key_separator_);
  ReadString(props, "null.literal", &f.null_literal_);
  return f;
}

std::string MessageFormatter::Format(const client::ConsumerRecord& r) const {
  // Each field is followed by key.separator when another field follows it
  // on the line, else by line.separator (Kafka's writeSeparator).
  std::string out;
  auto separator = [&](bool more) { out += more ? key_separator_ : line_separator_; };
  auto bytes = [&](const std::optional<std::string>& b) { out += b ? *b : null_literal_; };
  if (print_timestamp_) {
    out += fmt::format(
        "{}:{}",
        r.timestamp_kind == client::TimestampKind::kLogAppendTime ? "LogAppendTime" : "CreateTime",
        r.timestamp_ms);
    separator(print_partition_ || print_offset_ || print_headers_ || print_key_ || print_value_);
  }
  if (print_partition_) {
    out += fmt::format("Partition:{}", r.partition);
    separator(print_offset_ || print_headers_ || print_key_ || print_value_);
  }
  if (print_offset_) {
    out += fmt::format("Offset:{}", r.offset);
    separator(print_headers_ || print_key_ || print_value_);
  }
  if (print_headers_) {
    if (r.headers.empty()) {
      out += "NO_HEADERS";
    } else {
      for (size_t i = 0; i < r.headers.size(); ++i) {
        if (i > 0) out += headers_separator_;
        out += r.headers[i].key + headers_key_separator_;
        bytes(r.headers[i].value);
      }
    }
    separator(print_key_ || print_value_);
  }
  if (print_key_) {
    bytes(r.key);
    separator(print_value_);
  }
  if (print_value_) {
    bytes(r.value);
    out += line_separator_;
  }
  return out;
}

absl::Status ValidateConsoleConsumerOptions(const ConsoleConsumerOptions& o) {
  if (o.bootstrap_server.empty()) {
    return absl::InvalidArgumentError("Missing required argument \"[bootstrap-server]\"");
  }
  if (o.topic.empty()) {
    return absl::InvalidArgumentError("Exactly one of whitelist/include/topic is required.");
  }
  if (o.offset && !o.partition) {
    return absl::InvalidArgumentError("The partition is required when offset is specified.");
  }
  if (o.offset && o.from_beginning) {
    return absl::InvalidArgumentError(
        "Options from-beginning and offset cannot be specified together.");
  }
  if (o.partition && *o.partition < 0) {
    return absl::InvalidArgumentError(fmt::format("Invalid partition {}", *o.partition));
  }
  if (o.max_messages && *o.max_messages < 0) {
    return absl::InvalidArgumentError("--max-messages must be non-negative");
  }
  absl::StatusOr<int64_t> start = StartingOffset(o);
  return start.status();
}

absl::StatusOr<std::string> GroupFor(const ConsoleConsumerOptions& o,
                                     const std::optional<std::string>& property_group,
                                     const std::optional<std::string>& config_group) {
  std::vector<std::string> given;
  for (const std::optional<std::string>& g : {o.group, property_group, config_group}) {
    if (g && std::find(given.begin(), given.end(), *g) == given.end()) given.push_back(*g);
  }
  if (given.size() > 1) {
    return absl::InvalidArgumentError(fmt::format(
        "The group ids provided in different places (directly using '--group', via "
        "'--consumer-property', or via '--consumer.config') do not match. Detected group ids: "
        "'{}'",
        fmt::join(given, "', '")));
  }
  return given.empty() ? std::string() : given.front();
}

std::string GeneratedGroupId() {
  static std::mt19937 rng(std::random_device{}());
  return fmt::format("console-consumer-{}", std::uniform_int_distribution<int>(0, 99999)(rng));
}

absl::Status SetAutoOffsetReset(const ConsoleConsumerOptions& o, client::Properties* props) {
  auto it = props->find("auto.offset.reset");
  if (it == props->end()) {
    (*props)["auto.offset.reset"] = o.from_beginning ? "earliest" : "latest";
    return absl::OkStatus();
  }
  if (o.from_beginning && it->second != "earliest") {
    return absl::InvalidArgumentError(fmt::format(
        "Can't simultaneously specify --from-beginning and 'auto.offset.reset={}', to start "
        "from the beginning set 'auto.offset.reset=earliest'",
        it->second));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> StartingOffset(const ConsoleConsumerOptions& o) {
  if (o.offset) {
    if (*o.offset == "earliest") return -2;
    if (*o.offset == "latest") return -1;
    int64_t v = 0;
    if (!absl::SimpleAtoi(*o.offset, &v) || v < 0) {
      return absl::InvalidArgumentError(fmt::format(
          "The provided offset value '{}' is incorrect. Valid values are 'earliest', 'latest', "
          "or a non-negative long.",
          *o.offset));
    }
    return v;
  }
  return o.from_beginning ? -2 : -1;
}

int RunConsoleConsumer(const ConsoleConsumerOptions& o, std::ostream& out, std::ostream& err,
                       const std::atomic<bool>& stop) {
  int64_t processed = 0;
  auto report = [&](int code) {
    err << "Processed a total of " << processed << " messages\n";
    return code;
  };
  auto fail = [&](const absl::Status& s) {
    err << "ERROR Error processing message, terminating consumer process: " << s.message() << "\n";
    return report(1);
  };

  absl::StatusOr<client::Properties> fmt_props = ParseKeyValueArgs(o.properties);
  if (!fmt_props.ok()) return fail(fmt_props.status());
  absl::StatusOr<MessageFormatter> formatter = MessageFormatter::FromProperties(*fmt_props);
  if (!formatter.ok()) return fail(formatter.status());

  client::Properties props;
  std::optional<std::string> config_group;
  if (o.consumer_config) {
    absl::StatusOr<client::Properties> file = LoadPropertiesFile(*o.consumer_config);
    if (!file.ok()) return fail(file.status());
    props = *file;
    if (auto it = props.find("group.id"); it != props.end()) config_group = it->second;
  }
  absl::StatusOr<client::Properties> extra = ParseKeyValueArgs(o.consumer_properties);
  if (!extra.ok()) return fail(extra.status());
  std::optional<std::string> property_group;
  if (auto it = extra->find("group.id"); it != extra->end()) property_group = it->second;
  for (const auto& [k, v] : *extra) props[k] = v;
  props["bootstrap.servers"] = o.bootstrap_server;
  if (o.isolation_level) props["isolation.level"] = *o.isolation_level;

  absl::StatusOr<std::string> group = GroupFor(o, property_group, config_group);
  if (!group.ok()) {
    err << group.status().message() << "\n";
    return 1;
  }
  if (group->empty()) {
    // Kafka's: a group of its own, whose offsets are not meant to be used
    // again, so nothing is committed unless asked for.
    *group = GeneratedGroupId();
    props.try_emplace("enable.auto.commit", "false");
  }
  props["group.id"] = *group;
  if (absl::Status s = SetAutoOffsetReset(o, &props); !s.ok()) {
    err << s.message() << "\n";
    return 1;
  }

  std::vector<std::string> ignored;
  absl::StatusOr<client::ConsumerConfig> config =
      client::ConsumerConfig::FromProperties(props, &ignored);
  if (!config.ok()) return fail(config.status());
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create(*std::move(config));
  if (!consumer.ok()) return fail(consumer.status());
  client::Consumer& c = **consumer;

  if (o.partition) {
    // One partition, by hand (no group membership; a group still gets
    // commits), from --offset.
    const TopicPartition tp{o.topic, PartitionId(*o.partition)};
    c.Assign({tp});
    const int64_t start = *StartingOffset(o);
    absl::Status s = start == -2   ? c.SeekToBeginning()
                     : start == -1 ? c.SeekToEnd()
                                   : (c.Seek(tp, start), absl::OkStatus());
    if (!s.ok()) return fail(s);
  } else {
    // A topic that does not exist is reported rather than waited for (a
    // Java consumer would wait, warning, until it is created).
    absl::StatusOr<std::vector<int32_t>> parts = c.PartitionsFor(o.topic);
    if (!parts.ok()) return fail(parts.status());
    if (absl::Status s = c.Subscribe({o.topic}); !s.ok()) return fail(s);
  }

  const absl::Duration timeout =
      o.timeout_ms ? absl::Milliseconds(*o.timeout_ms) : absl::InfiniteDuration();
  absl::Time last_record = absl::Now();
  while (!stop.load()) {
    if (o.max_messages && processed >= *o.max_messages) break;
    const absl::Time now = absl::Now();
    if (now - last_record >= timeout) {
      err << "ERROR Error processing message, terminating consumer process: TimeoutException\n";
      break;
    }
    // Short polls so that a signal is noticed quickly.
    absl::StatusOr<std::vector<client::ConsumerRecord>> records =
        c.Poll(std::min(absl::Milliseconds(200), timeout - (now - last_record)));
    if (!records.ok()) return fail(records.status());
    if (records->empty()) continue;
    last_record = absl::Now();
    for (const auto& r : *records) {
      if (o.max_messages && processed >= *o.max_messages) break;
      out << formatter->Format(r);
      ++processed;
    }
    out.flush();
  }
  out.flush();
  c.Close();
  return report(0);
}

}  // namespace strata::tools
