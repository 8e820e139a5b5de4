// `strata console-producer`: Kafka's kafka-console-producer.sh. One record
// per input line; with parse.key=true the line is "key<key.separator>value".
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/config.h"
#include "client/records.h"

namespace strata::tools {

// Kafka's LineMessageReader properties (--property): parse.key (false),
// key.separator ("\t"), ignore.error (false), null.marker (unset).
struct LineReaderOptions {
  bool parse_key = false;
  std::string key_separator = "\t";
  bool ignore_error = false;
  std::optional<std::string> null_marker;

  static absl::StatusOr<LineReaderOptions> FromProperties(const client::Properties& props);
};

// The record for input line `line_number` (1-based). With parse.key and no
// separator in the line: Kafka's error, or with ignore.error the whole line
// as the value and no key. A key or value equal to null.marker is null.
absl::StatusOr<client::ProducerRecord> ParseLine(const LineReaderOptions& options,
                                                 const std::string& topic, const std::string& line,
                                                 int64_t line_number);

struct ConsoleProducerOptions {
  std::string bootstrap_server;
  std::string topic;
  std::vector<std::string> properties;           // --property
  std::vector<std::string> producer_properties;  // --producer-property
  std::optional<std::string> producer_config;    // --producer.config
  std::optional<std::string> acks;               // --request-required-acks
  std::optional<int64_t> linger_ms;              // --timeout
  std::optional<int32_t> batch_size;             // --batch-size
  std::optional<int64_t> max_block_ms;           // --max-block-ms
  // --compression-codec [none|gzip|snappy|lz4|zstd]: given without a value
  // (empty here), gzip, as in Kafka.
  std::optional<std::string> compression_codec;
  bool sync = false;  // --sync
};

// The producer settings: --producer.config, then --producer-property, then
// the explicit flags; Kafka's console producer defaults (acks=-1,
// linger.ms=1000, compression.type=none) where nothing was given.
absl::StatusOr<client::Properties> ConsoleProducerProperties(const ConsoleProducerOptions& o);

// Reads `in` to the end, sending one record per line, then flushes. Send
// errors are reported on `err` as Kafka's ErrorLoggingCallback does;
// returns 0 if every record was written, 1 otherwise. Prints ">" prompts when
// `prompt` (stdin and stdout are terminals).
int RunConsoleProducer(const ConsoleProducerOptions& options, std::istream& in, std::ostream& out,
                       std::ostream& err, bool prompt);

}  // namespace strata::tools
