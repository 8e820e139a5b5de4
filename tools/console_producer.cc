#include "tools/console_producer.h"

#include <atomic>
#include <istream>
#include <mutex>
#include <ostream>

#include "client/producer.h"
#include "fmt/format.h"
#include "tools/kafka_exception.h"
#include "tools/properties.h"

namespace strata::tools {
namespace {

absl::StatusOr<bool> ParseBool(const client::Properties& props, const std::string& key,
                               bool fallback) {
  auto it = props.find(key);
  if (it == props.end()) return fallback;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  return absl::InvalidArgumentError(
      fmt::format("Invalid value {} for property {}: expected true or false", it->second, key));
}

std::string Describe(const std::optional<std::string>& bytes) {
  return bytes ? fmt::format("{} bytes", bytes->size()) : "null";
}

}  // namespace

absl::StatusOr<LineReaderOptions> LineReaderOptions::FromProperties(
    const client::Properties& props) {
  LineReaderOptions o;
  absl::StatusOr<bool> parse_key = ParseBool(props, "parse.key", false);
  if (!parse_key.ok()) return parse_key.status();
  o.parse_key = *parse_key;
  absl::StatusOr<bool> ignore_error = ParseBool(props, "ignore.error", false);
  if (!ignore_error.ok()) return ignore_error.status();
  o.ignore_error = *ignore_error;
  if (auto it = props.find("key.separator"); it != props.end()) {
    if (it->second.empty()) return absl::InvalidArgumentError("key.separator must not be empty");
    o.key_separator = it->second;
  }
  if (auto it = props.find("null.marker"); it != props.end() && !it->second.empty()) {
    o.null_marker = it->second;
  }
  return o;
}

absl::StatusOr<client::ProducerRecord> ParseLine(const LineReaderOptions& options,
                                                 const std::string& topic, const std::string& line,
                                                 int64_t line_number) {
  client::ProducerRecord record;
  record.topic = topic;
  auto nullable = [&](std::string s) -> std::optional<std::string> {
    if (options.null_marker && s == *options.null_marker) return std::nullopt;
    return s;
  };
  if (!options.parse_key) {
    record.value = nullable(line);
    return record;
  }
  size_t sep = line.find(options.key_separator);
  if (sep == std::string::npos) {
    if (options.ignore_error) {
      record.value = nullable(line);
      return record;
    }
    return absl::InvalidArgumentError(
        fmt::format("No key separator found on line number {}: '{}'", line_number, line));
  }
  record.key = nullable(line.substr(0, sep));
  record.value = nullable(line.substr(sep + options.key_separator.size()));
  return record;
}

absl::StatusOr<client::Properties> ConsoleProducerProperties(const ConsoleProducerOptions& o) {
  client::Properties props;
  if (o.producer_config) {
    absl::StatusOr<client::Properties> file = LoadPropertiesFile(*o.producer_config);
    if (!file.ok()) return file.status();
    props = *file;
  }
  absl::StatusOr<client::Properties> extra = ParseKeyValueArgs(o.producer_properties);
  if (!extra.ok()) return extra.status();
  for (const auto& [k, v] : *extra) props[k] = v;
  // Explicit flags win; their defaults fill only what is still unset
  // (Kafka's CommandLineUtils.maybeMergeOptions).
  auto merge = [&](const char* key, const std::optional<std::string>& flag, const char* dflt) {
    if (flag) {
      props[key] = *flag;
    } else if (!props.contains(key)) {
      props[key] = dflt;
    }
  };
  auto str = [](const auto& opt) -> std::optional<std::string> {
    if (!opt) return std::nullopt;
    return std::to_string(*opt);
  };
  merge("acks", o.acks, "-1");
  merge("linger.ms", str(o.linger_ms), "1000");
  merge("batch.size", str(o.batch_size), "16384");
  merge("max.block.ms", str(o.max_block_ms), "60000");
  std::optional<std::string> codec = o.compression_codec;
  if (codec && codec->empty()) codec = "gzip";  // a bare --compression-codec
  merge("compression.type", codec, "none");
  props["bootstrap.servers"] = o.bootstrap_server;
  return props;
}

int RunConsoleProducer(const ConsoleProducerOptions& o, std::istream& in, std::ostream& out,
                       std::ostream& err, bool prompt) {
  absl::StatusOr<client::Properties> reader_props = ParseKeyValueArgs(o.properties);
  if (!reader_props.ok()) {
    err << reader_props.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<LineReaderOptions> reader = LineReaderOptions::FromProperties(*reader_props);
  if (!reader.ok()) {
    err << reader.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<client::Properties> props = ConsoleProducerProperties(o);
  if (!props.ok()) {
    err << props.status().message() << "\n";
    return 1;
  }
  std::vector<std::string> ignored;
  absl::StatusOr<client::ProducerConfig> config =
      client::ProducerConfig::FromProperties(*props, &ignored);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return 1;
  }
  for (const auto& key : ignored) {
    err << "WARN The configuration '" << key << "' was supplied but isn't a known config.\n";
  }
  absl::StatusOr<std::unique_ptr<client::Producer>> producer =
      client::Producer::Create(*std::move(config));
  if (!producer.ok()) {
    err << producer.status().message() << "\n";
    return 1;
  }

  std::atomic<bool> failed{false};
  std::mutex err_mu;
  int exit_code = 0;
  std::string line;
  int64_t line_number = 0;
  while (true) {
    if (prompt) out << ">" << std::flush;
    if (!std::getline(in, line)) break;
    ++line_number;
    absl::StatusOr<client::ProducerRecord> record = ParseLine(*reader, o.topic, line, line_number);
    if (!record.ok()) {
      err << "ERROR " << record.status().message() << "\n";
      exit_code = 1;
      break;
    }
    const std::string key_desc = record->key ? *record->key : "null";
    const std::string value_desc = Describe(record->value);
    auto callback = [&, key_desc, value_desc](const absl::StatusOr<client::RecordMetadata>& r) {
      if (r.ok()) return;
      failed = true;
      std::lock_guard<std::mutex> lock(err_mu);
      err << "ERROR Error when sending message to topic " << o.topic << " with key: "
          << (key_desc == "null" ? key_desc : fmt::format("{} bytes", key_desc.size()))
          << ", value: " << value_desc << " with error: " << KafkaExceptionText(r.status()) << "\n";
    };
    if (o.sync) {
      absl::StatusOr<client::RecordMetadata> r = (*producer)->Send(*std::move(record)).get();
      callback(r);
    } else {
      (*producer)->Send(*std::move(record), callback);
    }
  }
  (*producer)->Close();
  if (prompt) out << "\n";
  if (failed) exit_code = 1;
  return exit_code;
}

}  // namespace strata::tools
