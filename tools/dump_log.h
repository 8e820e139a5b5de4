// `strata dump-log` (Kafka's kafka-dump-log.sh, DumpLogSegments): prints
// the contents of a partition's files on local disk, for debugging a log
// that looks corrupt. Reads the files directly; no cluster is involved.
//
//   strata dump-log --files F1[,F2...] [--print-data-log] [--deep-iteration]
//       [--index-sanity-check] [--verify-index-only] [--skip-record-metadata]
//       [--max-bytes N] [--key-decoder-class C] [--value-decoder-class C]
//
// Output, as Kafka 3.x prints it (stdout):
//   Dumping 00000000000000000000.log
//   Log starting offset: 0
//   baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1
//     producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false
//     deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000002 size: 100
//     magic: 2 compresscodec: none crc: 123 isvalid: true          (one line per batch)
//   | offset: 0 CreateTime: 1700000000000 keySize: 1 valueSize: 3 sequence: -1
//     headerKeys: [] key: k payload: v       (per record, with --deep-iteration;
//                                             key and payload with --print-data-log)
//   Found 17 invalid bytes at the end of 00000000000000000000.log
// For a .index "offset: O position: P" per entry, for a .timeindex
// "timestamp: T offset: O"; with --index-sanity-check only "F passed sanity
// check." (or the problem, on stderr). After every file, the problems Kafka
// collects go to stderr with its wording: index entries that do not point at
// the batch they name ("Mismatches in :F"), time index problems, and
// non-consecutive record offsets.
//
// Strata's files are Kafka's (broker/storage/FORMAT.md), read here with the
// record codec only: tools/ may not include broker/. Other suffixes are
// ignored as Kafka ignores them ("Ignoring unknown file F"); Strata writes
// no .snapshot or .txnindex files.
//
// Where Kafka's tool would die with an exception (a batch length below 14,
// records that do not decode, a failed index sanity check) this one prints
// the problem to stderr, dumps whatever else it can, and exits 1. A missing
// or unreadable file is an error too. A torn tail (Kafka's "invalid bytes at
// the end") and a batch whose CRC does not match ("isvalid: false", its
// records still printed) are reported as Kafka reports them, with exit 0.
//
// Deviations: --max-message-size is accepted and has no effect (indexes are
// checked against batch headers, which need no size limit); the
// --offsets-decoder, --transaction-log-decoder, --cluster-metadata-decoder and
// --remote-log-metadata-decoder parsers are refused; of the decoder classes
// only StringDecoder, IntegerDecoder and LongDecoder exist; control records
// other than transaction markers print as "controlType: NAME(id)".
#pragma once

#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace strata::tools {

struct DumpLogOptions {
  // --files: the comma-separated list, split.
  std::vector<std::string> files;
  bool print_data_log = false;  // implies deep_iteration
  bool deep_iteration = false;
  bool index_sanity_check = false;
  bool verify_index_only = false;
  bool skip_record_metadata = false;
  int32_t max_message_size = 5 * 1024 * 1024;  // accepted, unused
  // Only the first max_bytes of each .log are read; no "invalid bytes" line
  // is printed when it is set, as in Kafka.
  int32_t max_bytes = std::numeric_limits<int32_t>::max();
  // Set (possibly to "", meaning the default StringDecoder) when given; a
  // decoder implies print_data_log.
  std::optional<std::string> key_decoder_class;
  std::optional<std::string> value_decoder_class;
  // Kafka's topic-specific parsers; refused.
  bool offsets_decoder = false;
  bool transaction_log_decoder = false;
  bool cluster_metadata_decoder = false;
  bool remote_log_metadata_decoder = false;
};

// Splits Kafka's comma-separated --files value (empty items dropped).
std::vector<std::string> SplitFilesOption(const std::string& value);

// The option checks Kafka makes before reading any file, and ours for what
// is not supported; the message says what to do instead.
absl::Status ValidateDumpLogOptions(const DumpLogOptions& options);

// Dumps every file in order. Returns the exit code: 0, or 1 when the options
// are refused, a file is missing or unreadable, or a file holds a problem
// Kafka's tool would have stopped at (see the file comment).
int RunDumpLog(const DumpLogOptions& options, std::ostream& out, std::ostream& err);

}  // namespace strata::tools
