// Compression codecs of Kafka v2 record batches: the bytes after a batch's
// 61-byte header are one compressed stream when attributes bits 0-2 name a
// codec. Formats, as Kafka's clients write them:
//
//   gzip    RFC 1952 gzip (one or more members); zlib-wrapped deflate is
//           accepted too.
//   snappy  either the xerial/snappy-java stream the Java client writes
//           (magic 82 'SNAPPY' 00, version, compat, then blocks each
//           prefixed by a 4-byte big-endian length) or one raw snappy block,
//           which librdkafka writes. The xerial magic tells them apart.
//   lz4     the LZ4 frame format (Kafka's KafkaLZ4BlockOutputStream writes
//           a standard frame for magic >= 1).
//   zstd    one or more zstd frames.
//
// Decompression treats its input as hostile: every decoder is bounded by
// `max_bytes` of output, checked as the output grows (or, for snappy, from
// the length the stream declares before anything is allocated), so a small
// batch that inflates to gigabytes (a "zip bomb") costs at most `max_bytes`.
//
// Errors: DataLoss for input that does not decompress (garbage, truncated,
// trailing bytes) or that decompresses to more than `max_bytes`; the message
// names the codec and what went wrong, and IsDecompressionLimitExceeded()
// tells the second from the first (a broker whose limit is the size a batch
// may be stored at answers MESSAGE_TOO_LARGE there, not CORRUPT_MESSAGE).
// InvalidArgument for Compression::kNone or an unknown codec, which callers
// are expected to have refused already.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/record/record_batch.h"

namespace strata::record {

// "gzip", "snappy", "lz4", "zstd", "none"; nullptr for codec ids 5-7.
const char* CompressionName(Compression codec);

// Decompresses `compressed` (a batch's records section) into `*out`, which
// is overwritten. See the file comment for formats and errors.
absl::Status Decompress(Compression codec, std::string_view compressed, size_t max_bytes,
                        std::string* out);

// True for Decompress's error when the output passed `max_bytes` (the input
// may well be valid), false for any other status.
bool IsDecompressionLimitExceeded(const absl::Status& status);

// How a snappy batch is framed; Java clients write kXerial, librdkafka kRaw.
enum class SnappyFraming { kXerial, kRaw };

// The levels Kafka's producer takes (KIP-390: compression.gzip.level,
// compression.lz4.level, compression.zstd.level), with its ranges.
inline constexpr int kGzipMinLevel = 1;
inline constexpr int kGzipMaxLevel = 9;
inline constexpr int kGzipDefaultLevel = -1;  // zlib's default, 6
inline constexpr int kLz4MinLevel = 1;
inline constexpr int kLz4MaxLevel = 17;
// Kafka's default lz4 level: the fast (non-HC) compressor, as before KIP-390.
// Every other level is lz4's HC compressor at that level in Kafka (lz4-java's
// highCompressor). LZ4F, which writes the frame here, has HC only from level
// 3 (LZ4HC_CLEVEL_MIN) and runs its fast mode below it, so levels 1 and 2
// compress as HC level 3 does: the nearest HC level, rather than the fast
// compressor Kafka uses for 9 alone.
inline constexpr int kLz4DefaultLevel = 9;
inline constexpr int kLz4MinHcLevel = 3;
inline constexpr int kZstdMinLevel = -131072;
inline constexpr int kZstdMaxLevel = 22;
inline constexpr int kZstdDefaultLevel = 3;

// How to compress. `level` applies to gzip, lz4 and zstd (snappy has none);
// nullopt is the codec's default above. An out-of-range level is an
// InvalidArgument error naming the range.
struct CompressionOptions {
  SnappyFraming snappy_framing = SnappyFraming::kXerial;
  std::optional<int> level;
};

// Compresses `raw` as a producer of that codec would. Used to build
// compressed batches (tests, fuzz seeds, and a producer's compression.type).
absl::StatusOr<std::string> Compress(Compression codec, std::string_view raw,
                                     SnappyFraming snappy_framing = SnappyFraming::kXerial);
absl::StatusOr<std::string> Compress(Compression codec, std::string_view raw,
                                     const CompressionOptions& options);

// Turns an uncompressed, valid batch into the same batch compressed with
// `codec`: the records section compressed, the codec bits set, batchLength
// and CRC recomputed. Every other header field is kept.
absl::StatusOr<std::string> CompressBatch(std::string_view batch, Compression codec,
                                          SnappyFraming snappy_framing = SnappyFraming::kXerial);
absl::StatusOr<std::string> CompressBatch(std::string_view batch, Compression codec,
                                          const CompressionOptions& options);

// A batch with the 61-byte header `header` (of a batch already checked) and
// the uncompressed records section `raw_records`, encoded with `codec`
// (kNone: stored as they are): the codec bits of attributes, batchLength and
// the CRC are set; every other header field (offsets, timestamps, producer
// fields, the other attribute bits) is kept. The record bytes do not depend
// on the codec, so this is how a producer seals a batch and how a broker
// re-encodes one for a topic whose compression.type differs. Nothing is
// validated here.
absl::StatusOr<std::string> EncodeBatch(std::string_view header, std::string_view raw_records,
                                        Compression codec, const CompressionOptions& options = {});

}  // namespace strata::record
