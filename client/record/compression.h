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
// names the codec and what went wrong. InvalidArgument for Compression::kNone
// or an unknown codec, which callers are expected to have refused already.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
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

// How a snappy batch is framed; Java clients write kXerial, librdkafka kRaw.
enum class SnappyFraming { kXerial, kRaw };

// Compresses `raw` as a producer of that codec would. Used to build
// compressed batches (tests, fuzz seeds, and a producer's compression.type).
absl::StatusOr<std::string> Compress(Compression codec, std::string_view raw,
                                     SnappyFraming snappy_framing = SnappyFraming::kXerial);

// Turns an uncompressed, valid batch into the same batch compressed with
// `codec`: the records section compressed, the codec bits set, batchLength
// and CRC recomputed. Every other header field is kept.
absl::StatusOr<std::string> CompressBatch(std::string_view batch, Compression codec,
                                          SnappyFraming snappy_framing = SnappyFraming::kXerial);

}  // namespace strata::record
