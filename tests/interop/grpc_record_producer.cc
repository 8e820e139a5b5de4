// interop_grpc_producer: produces exactly the records it is given over
// Strata's gRPC door (Strata's own client), for the interop suite's
// cross-protocol check of headers and explicit timestamps, which
// `strata console-producer` cannot set.
//
//   interop_grpc_producer BOOTSTRAP TOPIC [COMPRESSION] < records
//
// One record per input line, five fields separated by single spaces, bytes
// in lowercase hex so that any byte survives, "-" for null:
//   PARTITION TIMESTAMP_MS KEY VALUE HEADERS
// HEADERS is "-" for none, else KEYHEX=VALUEHEX pairs joined by ","
// (VALUEHEX "-" for a null header value); an empty key or value is "".
// Prints "PARTITION OFFSET TIMESTAMP_MS" per record, in input order, once
// all are acknowledged (acks=all). Exit status 0 when every record was;
// 1 with the error on stderr otherwise; 2 for a malformed line.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/producer.h"

namespace {

using strata::client::Header;
using strata::client::ProducerRecord;

// Lowercase or uppercase hex to bytes; nullopt when malformed.
std::optional<std::string> Unhex(const std::string& hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// A field: "-" is null (an engaged outer optional holding nullopt); a
// malformed field is nullopt.
std::optional<std::optional<std::string>> Bytes(const std::string& hex) {
  if (hex == "-") return std::optional<std::string>();
  std::optional<std::string> out = Unhex(hex);
  if (!out) return std::nullopt;
  return std::optional<std::string>(std::move(*out));
}

std::optional<ProducerRecord> ParseLine(const std::string& topic, const std::string& line) {
  std::vector<std::string> f = absl::StrSplit(line, ' ');
  if (f.size() != 5) return std::nullopt;
  ProducerRecord r;
  r.topic = topic;
  int32_t partition = 0;
  int64_t timestamp = 0;
  if (!absl::SimpleAtoi(f[0], &partition) || !absl::SimpleAtoi(f[1], &timestamp)) {
    return std::nullopt;
  }
  r.partition = partition;
  r.timestamp_ms = timestamp;
  auto key = Bytes(f[2]);
  auto value = Bytes(f[3]);
  if (!key || !value) return std::nullopt;
  r.key = *key;
  r.value = *value;
  if (f[4] != "-") {
    for (const std::string& pair : std::vector<std::string>(absl::StrSplit(f[4], ','))) {
      std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      if (kv.size() != 2) return std::nullopt;
      auto hkey = Bytes(kv[0]);
      auto hvalue = Bytes(kv[1]);
      if (!hkey || !*hkey || !hvalue) return std::nullopt;
      r.headers.push_back(Header{**hkey, *hvalue});
    }
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: " << argv[0] << " BOOTSTRAP TOPIC [COMPRESSION] < records\n";
    return 2;
  }
  std::vector<ProducerRecord> records;
  for (std::string line; std::getline(std::cin, line);) {
    if (line.empty()) continue;
    std::optional<ProducerRecord> r = ParseLine(argv[2], line);
    if (!r) {
      std::cerr << "malformed line: " << line << "\n";
      return 2;
    }
    records.push_back(*std::move(r));
  }
  strata::client::Properties props = {{"bootstrap.servers", argv[1]},
                                      {"acks", "all"},
                                      {"linger.ms", "5"},
                                      {"compression.type", argc == 4 ? argv[3] : "none"}};
  std::vector<std::string> ignored;
  auto config = strata::client::ProducerConfig::FromProperties(props, &ignored);
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  auto producer = strata::client::Producer::Create(*std::move(config));
  if (!producer.ok()) {
    std::cerr << producer.status() << "\n";
    return 1;
  }
  std::vector<std::future<absl::StatusOr<strata::client::RecordMetadata>>> acks;
  for (ProducerRecord& r : records) acks.push_back((*producer)->Send(std::move(r)));
  (*producer)->Flush();
  int status = 0;
  for (auto& ack : acks) {
    absl::StatusOr<strata::client::RecordMetadata> md = ack.get();
    if (!md.ok()) {
      std::cerr << md.status() << "\n";
      status = 1;
      continue;
    }
    std::cout << md->partition << " " << md->offset << " " << md->timestamp_ms << "\n";
  }
  (*producer)->Close();
  return status;
}
