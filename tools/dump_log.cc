#include "tools/dump_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/record/compression.h"
#include "client/record/crc32c.h"
#include "client/record/record_batch.h"
#include "client/record/sequence.h"
#include "fmt/format.h"

namespace strata::tools {
namespace {

// Kafka's FileLogInputStream: fewer bytes than offset, length, epoch and
// magic left is the end; a length below a v0 message's overhead is corrupt.
constexpr uint64_t kHeaderSizeUpToMagic = 17;
constexpr int32_t kMinRecordOverheadV0 = 14;
constexpr size_t kOffsetIndexEntrySize = 8;
constexpr size_t kTimeIndexEntrySize = 12;
constexpr int16_t kDeleteHorizonFlag = 0x40;
constexpr int32_t kNoSequence = -1;

uint64_t BigEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

const char* Bool(bool b) { return b ? "true" : "false"; }

// A regular file opened for positional reads; the descriptor is closed with
// the object.
class InputFile {
 public:
  static absl::StatusOr<InputFile> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(fmt::format("{}: {}", path, std::strerror(errno)));
    InputFile file(fd, path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      return absl::InternalError(fmt::format("{}: {}", path, std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(fmt::format("{}: not a regular file", path));
    }
    file.size_ = static_cast<uint64_t>(st.st_size);
    return file;
  }

  InputFile(InputFile&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), size_(other.size_) {}
  InputFile& operator=(InputFile&&) = delete;
  ~InputFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Up to `n` bytes at `offset`; fewer only at the end of the file.
  absl::StatusOr<std::string> Read(uint64_t offset, size_t n) const {
    std::string out(n, '\0');
    size_t done = 0;
    while (done < n) {
      const ssize_t got =
          ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return absl::InternalError(fmt::format("{}: {}", path_, std::strerror(errno)));
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    out.resize(done);
    return out;
  }

  uint64_t size() const { return size_; }

 private:
  InputFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_;
  std::string path_;
  uint64_t size_ = 0;
};

// What the caller sees of a file name, as java.io.File shows it.
std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.string();
}

// The part of the name before its first dot, as a base offset (Kafka's
// `file.getName.split("\\.")(0).toLong`).
std::optional<int64_t> BaseOffsetOf(const std::string& path) {
  const std::string name = BaseName(path);
  int64_t offset = 0;
  if (!absl::SimpleAtoi(name.substr(0, name.find('.')), &offset)) return std::nullopt;
  return offset;
}

// The sibling of `path` with the same stem and `suffix`.
std::string Sibling(const std::string& path, const std::string& suffix) {
  const size_t slash = path.find_last_of('/');
  const size_t stem_start = slash == std::string::npos ? 0 : slash + 1;
  const size_t dot = path.find('.', stem_start);
  return path.substr(0, dot) + suffix;
}

// Bytes as Java's `new String(bytes, UTF_8)` shows them: each maximal
// ill-formed subsequence becomes U+FFFD.
std::string Utf8ForDisplay(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<uint8_t>(in[i]);
    int need = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // range of the first continuation byte
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    size_t j = i + 1;
    int got = 0;
    while (got < need && j < in.size()) {
      const auto c = static_cast<uint8_t>(in[j]);
      if (c < (got == 0 ? lo : 0x80) || c > (got == 0 ? hi : 0xBF)) break;
      ++j;
      ++got;
    }
    if (need > 0 && got == need) {
      out.append(in.substr(i, j - i));
    } else {
      out.append("\xEF\xBF\xBD");
    }
    i = j;
  }
  return out;
}

const char* TimestampTypeName(const record::BatchHeader& h) {
  return h.timestamp_type() == record::TimestampType::kLogAppendTime ? "LogAppendTime"
                                                                     : "CreateTime";
}

std::string CodecName(const record::BatchHeader& h) {
  const char* name = record::CompressionName(h.compression());
  return name != nullptr ? name : fmt::format("unknown({})", h.attributes & 0x07);
}

// Kafka's ControlRecordType names, by type id.
std::string ControlTypeName(int16_t id) {
  switch (id) {
    case 0:
      return "ABORT";
    case 1:
      return "COMMIT";
    case 2:
      return "LEADER_CHANGE";
    case 3:
      return "SNAPSHOT_HEADER";
    case 4:
      return "SNAPSHOT_FOOTER";
    case 5:
      return "KRAFT_VERSION";
    case 6:
      return "KRAFT_VOTERS";
    default:
      return "UNKNOWN";
  }
}

// What a control record says, as Kafka prints it after the record's
// metadata: " endTxnMarker: COMMIT coordinatorEpoch: 5" for transaction
// markers, " controlType: NAME(id)" for the rest.
std::string DescribeControlRecord(const record::Record& r) {
  const std::string key = r.key.value_or("");
  if (key.size() < 4 || static_cast<int16_t>(BigEndian(key.data(), 2)) < 0) {
    return " controlType: UNKNOWN(-1)";
  }
  const auto type = static_cast<int16_t>(BigEndian(key.data() + 2, 2));
  if ((type == 0 || type == 1) && r.value.has_value() && r.value->size() >= 6 &&
      static_cast<int16_t>(BigEndian(r.value->data(), 2)) >= 0) {
    return fmt::format(" endTxnMarker: {} coordinatorEpoch: {}", ControlTypeName(type),
                       static_cast<int32_t>(BigEndian(r.value->data() + 2, 4)));
  }
  return fmt::format(" controlType: {}({})", ControlTypeName(type), type);
}

// Kafka's decoders (org.apache.kafka.tools.api.*) that make sense here.
enum class Decoder { kString, kInteger, kLong };

struct DecoderChoice {
  Decoder decoder = Decoder::kString;
  // Kafka prints a note for the kafka.serializer.* names it still accepts.
  std::optional<std::string> deprecation_note;
};

absl::StatusOr<DecoderChoice> ParseDecoder(const std::optional<std::string>& class_name) {
  static constexpr std::pair<const char*, Decoder> kDecoders[] = {
      {"StringDecoder", Decoder::kString},
      {"IntegerDecoder", Decoder::kInteger},
      {"LongDecoder", Decoder::kLong},
  };
  if (!class_name.has_value() || class_name->empty()) return DecoderChoice{};
  for (const auto& [simple, decoder] : kDecoders) {
    if (*class_name == std::string("org.apache.kafka.tools.api.") + simple) {
      return DecoderChoice{.decoder = decoder, .deprecation_note = std::nullopt};
    }
    if (*class_name == std::string("kafka.serializer.") + simple) {
      return DecoderChoice{
          .decoder = decoder,
          .deprecation_note = fmt::format(
              "kafka.serializer.{0} is deprecated. Please use org.apache.kafka.tools.api.{0} "
              "instead",
              simple)};
    }
  }
  return absl::InvalidArgumentError(
      fmt::format("Unsupported decoder class {}: strata dump-log knows "
                  "org.apache.kafka.tools.api.StringDecoder, IntegerDecoder and LongDecoder",
                  *class_name));
}

// Kafka's IntegerDecoder/LongDecoder read the first 4/8 bytes big-endian.
absl::StatusOr<std::string> Decode(Decoder decoder, const std::string& bytes) {
  switch (decoder) {
    case Decoder::kString:
      return Utf8ForDisplay(bytes);
    case Decoder::kInteger:
      if (bytes.size() < 4) break;
      return std::to_string(static_cast<int32_t>(BigEndian(bytes.data(), 4)));
    case Decoder::kLong:
      if (bytes.size() < 8) break;
      return std::to_string(static_cast<int64_t>(BigEndian(bytes.data(), 8)));
  }
  return absl::InvalidArgumentError(
      fmt::format("{} bytes are too few for {}", bytes.size(),
                  decoder == Decoder::kInteger ? "IntegerDecoder" : "LongDecoder"));
}

using OffsetPairs = std::vector<std::pair<int64_t, int64_t>>;

// What Kafka collects while dumping and prints to stderr at the end, per
// file (absolute path), in the order files were given.
struct Findings {
  std::vector<std::pair<std::string, OffsetPairs>> index_mismatches;
  std::vector<std::pair<std::string, OffsetPairs>> time_mismatches;
  std::vector<std::pair<std::string, OffsetPairs>> time_out_of_order;
  std::vector<std::pair<std::string, OffsetPairs>> time_offsets_not_found;
  std::vector<std::pair<std::string, OffsetPairs>> non_consecutive;
  // A problem Kafka's tool would have died of, or a file that is missing.
  bool failed = false;
};

OffsetPairs& For(std::vector<std::pair<std::string, OffsetPairs>>& list, const std::string& file) {
  if (list.empty() || list.back().first != file) list.emplace_back(file, OffsetPairs{});
  return list.back().second;
}

// One batch's framing at a position, as Kafka's FileLogInputStream reads it.
struct BatchAt {
  enum class Kind { kBatch, kEnd, kCorrupt } kind = Kind::kEnd;
  // kBatch: the decoded 61-byte header (with the stored magic).
  record::BatchHeader header;
  // kCorrupt: why, as a line for stderr.
  std::string problem;
};

absl::StatusOr<BatchAt> ReadBatchAt(const InputFile& file, const std::string& display_path,
                                    uint64_t position, uint64_t end) {
  BatchAt at;
  if (position + kHeaderSizeUpToMagic >= end) return at;
  absl::StatusOr<std::string> head = file.Read(
      position, static_cast<size_t>(std::min<uint64_t>(record::kBatchHeaderSize, end - position)));
  if (!head.ok()) return head.status();
  if (head->size() < kHeaderSizeUpToMagic) return at;  // the file shrank since it was opened
  const auto length = static_cast<int32_t>(BigEndian(head->data() + record::kBatchLengthPos, 4));
  const auto magic = static_cast<int8_t>((*head)[record::kMagicPos]);
  if (length < kMinRecordOverheadV0) {
    at.kind = BatchAt::Kind::kCorrupt;
    at.problem =
        fmt::format("Found record size {} smaller than minimum record overhead ({}) in file {}.",
                    length, kMinRecordOverheadV0, display_path);
    return at;
  }
  if (position + record::kLogOverhead + static_cast<uint64_t>(length) > end) return at;
  if (magic < record::kMagicV2) {
    at.kind = BatchAt::Kind::kCorrupt;
    at.problem = fmt::format(
        "Found a message of magic {} at position {} in file {}; Strata writes only magic 2 "
        "batches and cannot read older message formats.",
        magic, position, display_path);
    return at;
  }
  if (static_cast<size_t>(length) + record::kLogOverhead < record::kBatchHeaderSize) {
    at.kind = BatchAt::Kind::kCorrupt;
    at.problem = fmt::format(
        "Found batch size {} smaller than the {}-byte record batch header at position {} in "
        "file {}.",
        length + record::kLogOverhead, record::kBatchHeaderSize, position, display_path);
    return at;
  }
  // Kafka reads a magic above 2 as a v2 header too; the codec refuses any
  // magic but 2, so decode a copy that says 2.
  std::string copy = *head;
  copy[record::kMagicPos] = record::kMagicV2;
  absl::StatusOr<record::BatchHeader> header = record::ReadBatchHeader(copy);
  if (!header.ok()) {
    at.kind = BatchAt::Kind::kCorrupt;
    at.problem = fmt::format("Cannot read the batch header at position {} in file {}: {}", position,
                             display_path, Message(header.status()));
    return at;
  }
  at.kind = BatchAt::Kind::kBatch;
  at.header = *header;
  at.header.magic = magic;
  return at;
}

bool CrcMatches(const record::BatchHeader& h, std::string_view batch) {
  return batch.size() >= record::kBatchHeaderSize &&
         record::Crc32c(batch.substr(record::kAttributesPos)) == h.crc;
}

// The records of a whole batch, read as Kafka's iterator reads them: without
// checking the CRC (the batch line says whether it matches).
absl::StatusOr<std::vector<record::Record>> RecordsIgnoringCrc(const record::BatchHeader& h,
                                                               std::string_view batch) {
  if (CrcMatches(h, batch)) return record::DecodeRecords(batch);
  std::string copy(batch);
  uint32_t crc = record::Crc32c(std::string_view(copy).substr(record::kAttributesPos));
  for (int i = 3; i >= 0; --i, crc >>= 8) copy[record::kCrcPos + i] = static_cast<char>(crc);
  return record::DecodeRecords(copy);
}

struct Parsers {
  DecoderChoice key;
  DecoderChoice value;
};

class Dumper {
 public:
  Dumper(const DumpLogOptions& options, const Parsers& parsers, std::ostream& out,
         std::ostream& err)
      : options_(options), parsers_(parsers), out_(out), err_(err) {}

  void DumpFile(const std::string& path);
  void PrintFindings();
  bool failed() const { return findings_.failed; }

 private:
  void Fail(const std::string& line) {
    err_ << line << "\n";
    findings_.failed = true;
  }
  std::optional<InputFile> OpenOrFail(const std::string& path) {
    absl::StatusOr<InputFile> file = InputFile::Open(path);
    if (!file.ok()) {
      Fail(fmt::format("Error: cannot read {}", Message(file.status())));
      return std::nullopt;
    }
    return *std::move(file);
  }

  void DumpLog(const std::string& path);
  void PrintRecords(const std::string& abs_path, const record::BatchHeader& h,
                    std::string_view batch, uint64_t position, int64_t* last_offset);
  void DumpOffsetIndex(const std::string& path);
  void DumpTimeIndex(const std::string& path);
  std::string PrintPayload(const DecoderChoice& parser, const std::string& bytes, const char* what,
                           const record::Record& r);

  const DumpLogOptions& options_;
  const Parsers& parsers_;
  std::ostream& out_;
  std::ostream& err_;
  Findings findings_;
};

void Dumper::DumpFile(const std::string& path) {
  out_ << "Dumping " << path << "\n";
  const std::string name = BaseName(path);
  const size_t dot = name.find_last_of('.');
  const std::string suffix = dot == std::string::npos ? "" : name.substr(dot);
  if (suffix == ".log") {
    DumpLog(path);
  } else if (suffix == ".index") {
    DumpOffsetIndex(path);
  } else if (suffix == ".timeindex") {
    DumpTimeIndex(path);
  } else {
    err_ << "Ignoring unknown file " << path << "\n";
  }
}

void Dumper::DumpLog(const std::string& path) {
  // Kafka builds its parser (and prints the decoders' deprecation notes)
  // per .log file, before reading it.
  if (options_.print_data_log || options_.key_decoder_class || options_.value_decoder_class) {
    if (parsers_.value.deprecation_note) out_ << *parsers_.value.deprecation_note << "\n";
    if (parsers_.key.deprecation_note) out_ << *parsers_.key.deprecation_note << "\n";
  }
  std::optional<InputFile> file = OpenOrFail(path);
  if (!file) return;
  if (const std::optional<int64_t> base = BaseOffsetOf(path)) {
    out_ << "Log starting offset: " << *base << "\n";
  } else {
    err_ << "Cannot tell the starting offset from the name of " << path << "\n";
  }
  const std::string abs_path = AbsolutePath(path);
  const uint64_t end =
      std::min<uint64_t>(file->size(), static_cast<uint64_t>(std::max(options_.max_bytes, 0)));
  const bool deep = options_.deep_iteration || options_.print_data_log ||
                    options_.key_decoder_class || options_.value_decoder_class;

  uint64_t valid_bytes = 0;
  int64_t last_offset = -1;
  while (true) {
    absl::StatusOr<BatchAt> at = ReadBatchAt(*file, path, valid_bytes, end);
    if (!at.ok()) {
      Fail(fmt::format("Error: cannot read {}", Message(at.status())));
      return;
    }
    if (at->kind == BatchAt::Kind::kCorrupt) {
      Fail(at->problem);
      break;
    }
    if (at->kind == BatchAt::Kind::kEnd) break;
    const record::BatchHeader& h = at->header;
    absl::StatusOr<std::string> batch = file->Read(valid_bytes, h.size_in_bytes());
    if (!batch.ok()) {
      Fail(fmt::format("Error: cannot read {}", Message(batch.status())));
      return;
    }
    const int32_t last_sequence =
        h.base_sequence == kNoSequence
            ? kNoSequence
            : record::IncrementSequence(h.base_sequence, h.last_offset_delta);
    out_ << "baseOffset: " << h.base_offset.value() << " lastOffset: " << h.last_offset().value()
         << " count: " << h.records_count << " baseSequence: " << h.base_sequence
         << " lastSequence: " << last_sequence << " producerId: " << h.producer_id
         << " producerEpoch: " << h.producer_epoch
         << " partitionLeaderEpoch: " << h.partition_leader_epoch.value()
         << " isTransactional: " << Bool(h.is_transactional())
         << " isControl: " << Bool(h.is_control()) << " deleteHorizonMs: "
         << ((h.attributes & kDeleteHorizonFlag) ? fmt::format("OptionalLong[{}]", h.base_timestamp)
                                                 : std::string("OptionalLong.empty"))
         << " position: " << valid_bytes << " " << TimestampTypeName(h) << ": " << h.max_timestamp
         << " size: " << h.size_in_bytes() << " magic: " << static_cast<int>(h.magic)
         << " compresscodec: " << CodecName(h) << " crc: " << h.crc
         << " isvalid: " << Bool(CrcMatches(h, *batch)) << "\n";
    if (deep) PrintRecords(abs_path, h, *batch, valid_bytes, &last_offset);
    valid_bytes += h.size_in_bytes();
  }
  const uint64_t trailing = end - valid_bytes;
  if (trailing > 0 && options_.max_bytes == std::numeric_limits<int32_t>::max()) {
    out_ << "Found " << trailing << " invalid bytes at the end of " << BaseName(path) << "\n";
  }
}

std::string Dumper::PrintPayload(const DecoderChoice& parser, const std::string& bytes,
                                 const char* what, const record::Record& r) {
  absl::StatusOr<std::string> text = Decode(parser.decoder, bytes);
  if (text.ok()) return *text;
  Fail(fmt::format("Cannot decode the {} of the record at offset {}: {}", what, r.offset.value(),
                   Message(text.status())));
  return "";
}

void Dumper::PrintRecords(const std::string& abs_path, const record::BatchHeader& h,
                          std::string_view batch, uint64_t position, int64_t* last_offset) {
  absl::StatusOr<std::vector<record::Record>> records = RecordsIgnoringCrc(h, batch);
  if (!records.ok()) {
    Fail(fmt::format("Cannot read the records of the batch at position {} in file {}: {}", position,
                     abs_path, Message(records.status())));
    // Its offsets count as seen, so that the next batch is not reported as
    // non-consecutive.
    *last_offset = h.last_offset().value();
    return;
  }
  const bool print_data =
      options_.print_data_log || options_.key_decoder_class || options_.value_decoder_class;
  for (const record::Record& r : *records) {
    const int64_t offset = r.offset.value();
    if (*last_offset != -1 && offset != *last_offset + 1) {
      For(findings_.non_consecutive, abs_path).emplace_back(*last_offset, offset);
    }
    *last_offset = offset;

    std::string line;
    std::string prefix = "| ";
    if (!options_.skip_record_metadata) {
      const auto delta = static_cast<int32_t>(offset - h.base_offset.value());
      const int32_t sequence =
          h.base_sequence >= 0 ? record::IncrementSequence(h.base_sequence, delta) : kNoSequence;
      std::vector<std::string> header_keys;
      for (const record::RecordHeader& header : r.headers) {
        header_keys.push_back(Utf8ForDisplay(header.key));
      }
      line +=
          fmt::format("{}offset: {} {}: {} keySize: {} valueSize: {} sequence: {} headerKeys: [{}]",
                      prefix, offset, TimestampTypeName(h), r.timestamp,
                      r.key ? static_cast<int64_t>(r.key->size()) : -1,
                      r.value ? static_cast<int64_t>(r.value->size()) : -1, sequence,
                      absl::StrJoin(header_keys, ","));
      prefix = " ";
      if (h.is_control()) line += DescribeControlRecord(r);
    }
    if (print_data && !h.is_control()) {
      if (r.key) {
        line += prefix + "key: " + PrintPayload(parsers_.key, *r.key, "key", r);
        prefix = " ";
      }
      if (r.value) line += " payload: " + PrintPayload(parsers_.value, *r.value, "value", r);
    }
    out_ << line << "\n";
  }
}

// Strata's checks on loading an offset index (a failing one makes the broker
// rebuild it), with Kafka's wording for the check Kafka makes too. Returns
// the first problem.
std::optional<std::string> OffsetIndexProblem(const std::string& abs_path, const std::string& bytes,
                                              int64_t base, std::optional<uint64_t> log_size) {
  const size_t entries = bytes.size() / kOffsetIndexEntrySize;
  for (size_t i = 1; i < entries; ++i) {
    const char* prev = bytes.data() + (i - 1) * kOffsetIndexEntrySize;
    const char* cur = bytes.data() + i * kOffsetIndexEntrySize;
    if (BigEndian(cur, 4) <= BigEndian(prev, 4) ||
        BigEndian(cur + 4, 4) <= BigEndian(prev + 4, 4)) {
      return fmt::format("index {} entry {} (offset {}, position {}) is out of order", abs_path, i,
                         base + static_cast<int64_t>(BigEndian(cur, 4)), BigEndian(cur + 4, 4));
    }
  }
  if (bytes.size() % kOffsetIndexEntrySize != 0) {
    return fmt::format(
        "Index file {} is corrupt, found {} bytes which is neither positive nor a multiple of {}",
        abs_path, bytes.size(), kOffsetIndexEntrySize);
  }
  if (entries > 0 && log_size.has_value()) {
    const uint64_t last_position =
        BigEndian(bytes.data() + (entries - 1) * kOffsetIndexEntrySize + 4, 4);
    if (last_position >= *log_size) {
      return fmt::format("index {} points at position {} of a {}-byte log", abs_path, last_position,
                         *log_size);
    }
  }
  return std::nullopt;
}

std::optional<std::string> TimeIndexProblem(const std::string& abs_path, const std::string& bytes) {
  const size_t entries = bytes.size() / kTimeIndexEntrySize;
  auto timestamp = [&](size_t i) {
    return static_cast<int64_t>(BigEndian(bytes.data() + i * kTimeIndexEntrySize, 8));
  };
  auto relative_offset = [&](size_t i) {
    return BigEndian(bytes.data() + i * kTimeIndexEntrySize + 8, 4);
  };
  if (entries > 0 && timestamp(entries - 1) < timestamp(0)) {
    return fmt::format(
        "Corrupt time index found, time index file ({}) has non-zero size but the last "
        "timestamp is {} which is less than the first timestamp {}",
        abs_path, timestamp(entries - 1), timestamp(0));
  }
  for (size_t i = 1; i < entries; ++i) {
    if (timestamp(i) <= timestamp(i - 1) || relative_offset(i) <= relative_offset(i - 1)) {
      return fmt::format("time index {} entry {} is out of order", abs_path, i);
    }
  }
  if (bytes.size() % kTimeIndexEntrySize != 0) {
    return fmt::format(
        "Time index file {} is corrupt, found {} bytes which is neither positive nor a multiple "
        "of {}",
        abs_path, bytes.size(), kTimeIndexEntrySize);
  }
  return std::nullopt;
}

void Dumper::DumpOffsetIndex(const std::string& path) {
  std::optional<InputFile> file = OpenOrFail(path);
  if (!file) return;
  const std::optional<int64_t> base = BaseOffsetOf(path);
  if (!base) {
    Fail(fmt::format("Cannot tell the base offset from the name of {}", path));
    return;
  }
  absl::StatusOr<std::string> bytes = file->Read(0, file->size());
  if (!bytes.ok()) {
    Fail(fmt::format("Error: cannot read {}", Message(bytes.status())));
    return;
  }
  const std::string log_path = Sibling(path, ".log");
  absl::StatusOr<InputFile> log = InputFile::Open(log_path);
  const std::string abs_path = AbsolutePath(path);
  const size_t entries = bytes->size() / kOffsetIndexEntrySize;
  if (entries == 0) {
    out_ << path << " is empty.\n";
    return;
  }
  if (!log.ok()) {
    Fail(fmt::format("Error: cannot read {}, so {} cannot be checked against it",
                     Message(log.status()), path));
  }
  if (options_.index_sanity_check) {
    std::optional<std::string> problem = OffsetIndexProblem(
        abs_path, *bytes, *base, log.ok() ? std::optional<uint64_t>(log->size()) : std::nullopt);
    if (problem) {
      Fail(*problem);
    } else {
      out_ << path << " passed sanity check.\n";
    }
    return;
  }
  for (size_t i = 0; i < entries; ++i) {
    const char* entry = bytes->data() + i * kOffsetIndexEntrySize;
    const int64_t offset = *base + static_cast<int64_t>(BigEndian(entry, 4));
    const uint64_t position = BigEndian(entry + 4, 4);
    // A preallocated Kafka index ends in zeros; Strata's do not, but stop
    // there as Kafka does.
    if (offset == *base && i > 0) return;
    if (log.ok()) {
      absl::StatusOr<BatchAt> at = ReadBatchAt(*log, log_path, position, log->size());
      const int64_t log_offset = at.ok() && at->kind == BatchAt::Kind::kBatch
                                     ? at->header.last_offset().value()
                                     : int64_t{-1};
      if (log_offset != offset) {
        For(findings_.index_mismatches, abs_path).emplace_back(offset, log_offset);
      }
    }
    if (!options_.verify_index_only) {
      out_ << "offset: " << offset << " position: " << position << "\n";
    }
  }
}

void Dumper::DumpTimeIndex(const std::string& path) {
  std::optional<InputFile> file = OpenOrFail(path);
  if (!file) return;
  const std::optional<int64_t> base = BaseOffsetOf(path);
  if (!base) {
    Fail(fmt::format("Cannot tell the base offset from the name of {}", path));
    return;
  }
  absl::StatusOr<std::string> bytes = file->Read(0, file->size());
  if (!bytes.ok()) {
    Fail(fmt::format("Error: cannot read {}", Message(bytes.status())));
    return;
  }
  const std::string abs_path = AbsolutePath(path);
  if (options_.index_sanity_check) {
    if (std::optional<std::string> problem = TimeIndexProblem(abs_path, *bytes)) {
      Fail(*problem);
    } else {
      out_ << path << " passed sanity check.\n";
    }
    return;
  }
  const size_t entries = bytes->size() / kTimeIndexEntrySize;
  if (entries == 0) return;
  const std::string log_path = Sibling(path, ".log");
  std::optional<InputFile> log = OpenOrFail(log_path);
  // The offset index only shortens the scan for an entry's batch; without
  // one, scans start at 0.
  std::string offset_index;
  if (absl::StatusOr<InputFile> index = InputFile::Open(Sibling(path, ".index")); index.ok()) {
    offset_index = index->Read(0, index->size()).value_or("");
  }
  // Position of the last offset-index entry at or before `target`.
  auto lookup = [&](int64_t target) {
    uint64_t position = 0;
    for (size_t at = 0; at + kOffsetIndexEntrySize <= offset_index.size();
         at += kOffsetIndexEntrySize) {
      if (*base + static_cast<int64_t>(BigEndian(offset_index.data() + at, 4)) > target) break;
      position = BigEndian(offset_index.data() + at + 4, 4);
    }
    return position;
  };

  int64_t prev_timestamp = -1;
  for (size_t i = 0; i < entries; ++i) {
    const char* entry = bytes->data() + i * kTimeIndexEntrySize;
    const auto timestamp = static_cast<int64_t>(BigEndian(entry, 8));
    const int64_t offset = *base + static_cast<int64_t>(BigEndian(entry + 8, 4));
    if (offset == *base && i > 0) return;
    if (log) {
      uint64_t position = lookup(offset);
      // The first batch from there whose last offset reaches `offset`.
      std::optional<record::BatchHeader> found;
      while (true) {
        absl::StatusOr<BatchAt> at = ReadBatchAt(*log, log_path, position, log->size());
        if (!at.ok() || at->kind != BatchAt::Kind::kBatch) break;
        if (at->header.last_offset().value() >= offset) {
          found = at->header;
          break;
        }
        position += at->header.size_in_bytes();
      }
      if (!found) {
        For(findings_.time_offsets_not_found, abs_path).emplace_back(offset, -1);
      } else if (found->last_offset().value() != offset) {
        For(findings_.time_offsets_not_found, abs_path)
            .emplace_back(offset, found->last_offset().value());
      } else {
        // The batch's largest record timestamp; its header's when the
        // records do not decode.
        int64_t max_timestamp = found->max_timestamp;
        absl::StatusOr<std::string> batch = log->Read(position, found->size_in_bytes());
        if (batch.ok()) {
          absl::StatusOr<std::vector<record::Record>> records = RecordsIgnoringCrc(*found, *batch);
          if (records.ok()) {
            max_timestamp = -1;
            for (const record::Record& r : *records) {
              max_timestamp = std::max(max_timestamp, r.timestamp);
            }
          }
        }
        if (max_timestamp != timestamp) {
          For(findings_.time_mismatches, abs_path).emplace_back(timestamp, max_timestamp);
        }
        if (prev_timestamp >= timestamp) {
          For(findings_.time_out_of_order, abs_path).emplace_back(timestamp, prev_timestamp);
        }
      }
    }
    if (!options_.verify_index_only) {
      out_ << "timestamp: " << timestamp << " offset: " << offset << "\n";
    }
    prev_timestamp = timestamp;
  }
}

void Dumper::PrintFindings() {
  // Kafka prepends offset-index mismatches and non-consecutive pairs to a
  // list, so they come out last first; the time index ones in order.
  for (const auto& [file, pairs] : findings_.index_mismatches) {
    err_ << "Mismatches in :" << file << "\n";
    for (auto it = pairs.rbegin(); it != pairs.rend(); ++it) {
      err_ << "  Index offset: " << it->first << ", log offset: " << it->second << "\n";
    }
  }
  for (const auto& [file, pairs] : findings_.time_mismatches) {
    err_ << "Found timestamp mismatch in :" << file << "\n";
    for (const auto& [index_ts, log_ts] : pairs) {
      err_ << "  Index timestamp: " << index_ts << ", log timestamp: " << log_ts << "\n";
    }
  }
  for (const auto& [file, pairs] : findings_.time_out_of_order) {
    err_ << "Found out of order timestamp in :" << file << "\n";
    for (const auto& [index_ts, prev_ts] : pairs) {
      err_ << "  Index timestamp: " << index_ts << ", Previously indexed timestamp: " << prev_ts
           << "\n";
    }
  }
  for (const auto& [file, pairs] : findings_.time_offsets_not_found) {
    err_ << "The following indexed offsets are not found in the log.\n";
    for (const auto& [indexed, found] : pairs) {
      err_ << "Indexed offset: " << indexed << ", found log offset: " << found << "\n";
    }
  }
  for (const auto& [file, pairs] : findings_.non_consecutive) {
    err_ << "Non-consecutive offsets in " << file << "\n";
    for (auto it = pairs.rbegin(); it != pairs.rend(); ++it) {
      err_ << "  " << it->first << " is followed by " << it->second << "\n";
    }
  }
}

}  // namespace

std::vector<std::string> SplitFilesOption(const std::string& value) {
  return absl::StrSplit(value, ',', absl::SkipEmpty());
}

absl::Status ValidateDumpLogOptions(const DumpLogOptions& options) {
  if (options.files.empty())
    return absl::InvalidArgumentError("Missing required argument \"[files]\"");
  const std::pair<bool, const char*> parsers[] = {
      {options.offsets_decoder, "--offsets-decoder"},
      {options.transaction_log_decoder, "--transaction-log-decoder"},
      {options.cluster_metadata_decoder, "--cluster-metadata-decoder"},
      {options.remote_log_metadata_decoder, "--remote-log-metadata-decoder"},
  };
  for (const auto& [set, flag] : parsers) {
    if (set) {
      return absl::InvalidArgumentError(
          fmt::format("{} is not supported by strata dump-log; use --print-data-log to see the "
                      "records' keys and values as they are",
                      flag));
    }
  }
  if (options.max_bytes <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("--max-bytes must be positive, not {}", options.max_bytes));
  }
  if (absl::StatusOr<DecoderChoice> d = ParseDecoder(options.key_decoder_class); !d.ok()) {
    return d.status();
  }
  if (absl::StatusOr<DecoderChoice> d = ParseDecoder(options.value_decoder_class); !d.ok()) {
    return d.status();
  }
  return absl::OkStatus();
}

int RunDumpLog(const DumpLogOptions& options, std::ostream& out, std::ostream& err) {
  if (absl::Status s = ValidateDumpLogOptions(options); !s.ok()) {
    err << s.message() << "\n";
    return 1;
  }
  const Parsers parsers{.key = *ParseDecoder(options.key_decoder_class),
                        .value = *ParseDecoder(options.value_decoder_class)};
  Dumper dumper(options, parsers, out, err);
  for (const std::string& file : options.files) dumper.DumpFile(file);
  out.flush();
  dumper.PrintFindings();
  return dumper.failed() ? 1 : 0;
}

}  // namespace strata::tools
