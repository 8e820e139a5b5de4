// Codecs for record batches; see compression.h for the formats and the
// contract. Each decoder grows its output in steps and refuses to pass
// `max_bytes`, so the memory a hostile batch can claim is bounded by the
// caller's limit, not by what the stream says it holds.

#include "client/record/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"
#include "client/record/crc32c.h"

namespace strata::record {
namespace {

// First output allocation; later steps double the buffer (never past the
// limit + 1), so a large batch costs few reallocations and a bomb is caught
// as soon as its output passes the limit.
constexpr size_t kOutputStep = 64 * 1024;

// snappy-java's stream header: magic, then version and compatible version
// (both 1, big-endian int32), then blocks of [int32 big-endian length][raw
// snappy block]. The Java client writes blocks of up to 32 KiB.
constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeaderSize = 16;
constexpr size_t kXerialBlockSize = 32 * 1024;

absl::Status Corrupt(const char* codec, std::string_view what) {
  return absl::DataLossError(absl::StrFormat("%s: %s", codec, what));
}

// Marks Decompress's "over the limit" errors (IsDecompressionLimitExceeded).
constexpr char kLimitPayloadUrl[] = "type.strata.dev/record.DecompressionLimitExceeded";

absl::Status TooLarge(const char* codec, size_t max_bytes) {
  absl::Status s = absl::DataLossError(absl::StrFormat(
      "%s: records decompress to more than %d bytes, the limit for this batch", codec, max_bytes));
  s.SetPayload(kLimitPayloadUrl, absl::Cord(codec));
  return s;
}

uint32_t ReadBigEndian32(const char* p) {
  return (uint32_t{static_cast<unsigned char>(p[0])} << 24) |
         (uint32_t{static_cast<unsigned char>(p[1])} << 16) |
         (uint32_t{static_cast<unsigned char>(p[2])} << 8) |
         uint32_t{static_cast<unsigned char>(p[3])};
}

void AppendBigEndian32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

// Makes room for the next step of output: returns false when `used` already
// reached `max_bytes` (any further byte would pass the limit). The buffer
// may grow to max_bytes + 1 so that "exactly at the limit, then one more
// byte" is seen as over it.
bool Grow(std::string* out, size_t used, size_t max_bytes) {
  if (used > max_bytes) return false;
  const size_t room = std::min(std::max(kOutputStep, used), max_bytes + 1 - used);
  if (room == 0) return false;
  out->resize(used + room);
  return true;
}

// ---------------------------------------------------------------------------
// gzip

absl::Status GunzipInto(std::string_view in, size_t max_bytes, std::string* out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  // 15 window bits + 32: detect gzip or zlib headers.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return absl::InternalError("gzip: inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  if (in.size() != zs.avail_in) return Corrupt("gzip", "compressed records larger than 4 GiB");
  size_t used = 0;
  while (true) {
    if (used == out->size() && !Grow(out, used, max_bytes)) return TooLarge("gzip", max_bytes);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    zs.avail_out = static_cast<uInt>(out->size() - used);
    const uInt before = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    used += before - zs.avail_out;
    if (used > max_bytes) return TooLarge("gzip", max_bytes);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows (as GZIPInputStream accepts).
      if (inflateReset(&zs) != Z_OK) return Corrupt("gzip", "cannot reset after a member");
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) return Corrupt("gzip", "stream is truncated");
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Corrupt("gzip", zs.msg != nullptr ? zs.msg : "invalid stream");
    }
  }
  out->resize(used);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Gzip(std::string_view raw, int level) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  // 15 window bits + 16: write a gzip header, as java.util.zip does.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("gzip: deflateInit2 failed");
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
  std::string out(deflateBound(&zs, static_cast<uLong>(raw.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) return absl::InternalError("gzip: deflate failed");
  out.resize(zs.total_out);
  return out;
}

// ---------------------------------------------------------------------------
// snappy

// Appends one raw snappy block to `out` at `*used`.
absl::Status UnsnappyBlock(std::string_view block, size_t max_bytes, std::string* out,
                           size_t* used) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &length)) {
    return Corrupt("snappy", "block header does not parse");
  }
  // The declared length is checked before anything is allocated for it.
  if (length > max_bytes - *used) return TooLarge("snappy", max_bytes);
  out->resize(*used + length);
  if (!snappy::RawUncompress(block.data(), block.size(), out->data() + *used)) {
    return Corrupt("snappy", "block does not decompress");
  }
  *used += length;
  return absl::OkStatus();
}

absl::Status UnsnappyInto(std::string_view in, size_t max_bytes, std::string* out) {
  size_t used = 0;
  out->clear();
  if (in.size() < sizeof(kXerialMagic) ||
      std::memcmp(in.data(), kXerialMagic, sizeof(kXerialMagic)) != 0) {
    return UnsnappyBlock(in, max_bytes, out, &used);  // librdkafka: one raw block
  }
  if (in.size() < kXerialHeaderSize) return Corrupt("snappy", "xerial header is truncated");
  in.remove_prefix(kXerialHeaderSize);  // version and compat are not checked, as in snappy-java
  while (!in.empty()) {
    if (in.size() < 4) return Corrupt("snappy", "xerial block length is truncated");
    const uint32_t length = ReadBigEndian32(in.data());
    in.remove_prefix(4);
    if (length > in.size()) {
      return Corrupt("snappy", absl::StrFormat("xerial block of %d bytes runs past the end (%d "
                                               "bytes left)",
                                               length, in.size()));
    }
    if (absl::Status s = UnsnappyBlock(in.substr(0, length), max_bytes, out, &used); !s.ok()) {
      return s;
    }
    in.remove_prefix(length);
  }
  return absl::OkStatus();
}

std::string Snappy(std::string_view raw, SnappyFraming framing) {
  std::string out;
  if (framing == SnappyFraming::kRaw) {
    snappy::Compress(raw.data(), raw.size(), &out);
    return out;
  }
  out.append(kXerialMagic, sizeof(kXerialMagic));
  AppendBigEndian32(&out, 1);  // version
  AppendBigEndian32(&out, 1);  // compatible version
  std::string block;
  for (size_t pos = 0; pos < raw.size(); pos += kXerialBlockSize) {
    const std::string_view chunk = raw.substr(pos, kXerialBlockSize);
    snappy::Compress(chunk.data(), chunk.size(), &block);
    AppendBigEndian32(&out, static_cast<uint32_t>(block.size()));
    out.append(block);
  }
  return out;
}

// ---------------------------------------------------------------------------
// lz4 (frame format)

absl::Status Unlz4Into(std::string_view in, size_t max_bytes, std::string* out) {
  LZ4F_dctx* raw_ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION))) {
    return absl::InternalError("lz4: cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw_ctx,
                                                                   LZ4F_freeDecompressionContext);
  size_t used = 0;
  size_t hint = 1;  // non-zero: a frame is expected
  while (!in.empty()) {
    if (used == out->size() && !Grow(out, used, max_bytes)) return TooLarge("lz4", max_bytes);
    size_t dst_size = out->size() - used;
    size_t src_size = in.size();
    hint = LZ4F_decompress(ctx.get(), out->data() + used, &dst_size, in.data(), &src_size,
                           /*dOptPtr=*/nullptr);
    if (LZ4F_isError(hint)) return Corrupt("lz4", LZ4F_getErrorName(hint));
    used += dst_size;
    in.remove_prefix(src_size);
    if (used > max_bytes) return TooLarge("lz4", max_bytes);
    // No progress either way means the decoder needs room, which the next
    // turn adds; a step that consumes nothing and writes nothing with room
    // left would loop forever, so treat it as corrupt.
    if (src_size == 0 && dst_size == 0 && used < out->size()) {
      return Corrupt("lz4", "decoder made no progress");
    }
  }
  // Flush what the decoder holds back (it may buffer a block).
  while (hint != 0) {
    if (used == out->size() && !Grow(out, used, max_bytes)) return TooLarge("lz4", max_bytes);
    size_t dst_size = out->size() - used;
    size_t src_size = 0;
    hint = LZ4F_decompress(ctx.get(), out->data() + used, &dst_size, nullptr, &src_size, nullptr);
    if (LZ4F_isError(hint)) return Corrupt("lz4", LZ4F_getErrorName(hint));
    used += dst_size;
    if (used > max_bytes) return TooLarge("lz4", max_bytes);
    if (dst_size == 0) {
      if (hint != 0) return Corrupt("lz4", "frame is truncated");
      break;
    }
  }
  out->resize(used);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Lz4(std::string_view raw, int level) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  // Kafka's writer: 64 KiB independent blocks, no content checksum needed.
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  // Kafka's default level is its fast compressor; any other level is HC at
  // that level. LZ4F uses HC from level 3 up, so 1 and 2 become 3 (see
  // kLz4MinHcLevel).
  prefs.compressionLevel = level == kLz4DefaultLevel ? 0 : std::max(level, kLz4MinHcLevel);
  std::string out(LZ4F_compressFrameBound(raw.size(), &prefs), '\0');
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), raw.data(), raw.size(), &prefs);
  if (LZ4F_isError(n)) return absl::InternalError(LZ4F_getErrorName(n));
  out.resize(n);
  return out;
}

// ---------------------------------------------------------------------------
// zstd

absl::Status UnzstdInto(std::string_view in, size_t max_bytes, std::string* out) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (ctx == nullptr) return absl::InternalError("zstd: cannot create a decompression context");
  // Bound the window a frame may ask for: the default (128 MiB) is more
  // memory than any batch needs, and the frame header is the sender's word.
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, 27);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t used = 0;
  size_t remaining = 1;  // non-zero until a frame ends
  while (input.pos < input.size || remaining != 0) {
    if (used == out->size() && !Grow(out, used, max_bytes)) return TooLarge("zstd", max_bytes);
    ZSTD_outBuffer output{out->data() + used, out->size() - used, 0};
    remaining = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(remaining)) return Corrupt("zstd", ZSTD_getErrorName(remaining));
    used += output.pos;
    if (used > max_bytes) return TooLarge("zstd", max_bytes);
    // With room left in the output the decoder has flushed all it can; if
    // the input is gone and the frame is not done, it never will be.
    if (remaining != 0 && input.pos == input.size && output.pos < output.size) {
      return Corrupt("zstd", "frame is truncated");
    }
  }
  out->resize(used);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Zstd(std::string_view raw, int level) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) return absl::InternalError(ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

}  // namespace

const char* CompressionName(Compression codec) {
  switch (codec) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return nullptr;
}

absl::Status Decompress(Compression codec, std::string_view compressed, size_t max_bytes,
                        std::string* out) {
  out->clear();
  // Grow() works with max_bytes + 1.
  max_bytes = std::min(max_bytes, SIZE_MAX - 1);
  switch (codec) {
    case Compression::kGzip:
      return GunzipInto(compressed, max_bytes, out);
    case Compression::kSnappy:
      return UnsnappyInto(compressed, max_bytes, out);
    case Compression::kLz4:
      return Unlz4Into(compressed, max_bytes, out);
    case Compression::kZstd:
      return UnzstdInto(compressed, max_bytes, out);
    case Compression::kNone:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("no decompressor for codec %d", static_cast<int>(codec)));
}

bool IsDecompressionLimitExceeded(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kLimitPayloadUrl).has_value();
}

absl::StatusOr<std::string> Compress(Compression codec, std::string_view raw,
                                     SnappyFraming snappy_framing) {
  return Compress(codec, raw, CompressionOptions{.snappy_framing = snappy_framing, .level = {}});
}

absl::StatusOr<std::string> Compress(Compression codec, std::string_view raw,
                                     const CompressionOptions& options) {
  auto level = [&](int lo, int hi, int dflt) -> absl::StatusOr<int> {
    const int v = options.level.value_or(dflt);
    if (v != dflt && (v < lo || v > hi)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s compression level %d is out of range [%d, %d]", CompressionName(codec), v, lo, hi));
    }
    return v;
  };
  switch (codec) {
    case Compression::kGzip: {
      absl::StatusOr<int> l = level(kGzipMinLevel, kGzipMaxLevel, kGzipDefaultLevel);
      if (!l.ok()) return l.status();
      return Gzip(raw, *l);
    }
    case Compression::kSnappy:
      return Snappy(raw, options.snappy_framing);
    case Compression::kLz4: {
      absl::StatusOr<int> l = level(kLz4MinLevel, kLz4MaxLevel, kLz4DefaultLevel);
      if (!l.ok()) return l.status();
      return Lz4(raw, *l);
    }
    case Compression::kZstd: {
      absl::StatusOr<int> l = level(kZstdMinLevel, kZstdMaxLevel, kZstdDefaultLevel);
      if (!l.ok()) return l.status();
      return Zstd(raw, *l);
    }
    case Compression::kNone:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("no compressor for codec %d", static_cast<int>(codec)));
}

absl::StatusOr<std::string> EncodeBatch(std::string_view header, std::string_view raw_records,
                                        Compression codec, const CompressionOptions& options) {
  if (header.size() != kBatchHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a batch header is %d bytes, not %d", kBatchHeaderSize, header.size()));
  }
  if (CompressionName(codec) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("no compressor for codec %d", static_cast<int>(codec)));
  }
  std::string out;
  if (codec == Compression::kNone) {
    out.reserve(kBatchHeaderSize + raw_records.size());
    out.append(header);
    out.append(raw_records);
  } else {
    absl::StatusOr<std::string> body = Compress(codec, raw_records, options);
    if (!body.ok()) return body.status();
    out.reserve(kBatchHeaderSize + body->size());
    out.append(header);
    out.append(*body);
  }
  if (out.size() - kLogOverhead > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("batch too large for its int32 batchLength");
  }
  const auto old_attributes =
      static_cast<uint16_t>((static_cast<unsigned char>(out[kAttributesPos]) << 8) |
                            static_cast<unsigned char>(out[kAttributesPos + 1]));
  const auto attributes =
      static_cast<uint16_t>((old_attributes & ~0x07u) | static_cast<uint16_t>(codec));
  out[kAttributesPos] = static_cast<char>(attributes >> 8);
  out[kAttributesPos + 1] = static_cast<char>(attributes & 0xff);
  const uint32_t length = static_cast<uint32_t>(out.size() - kLogOverhead);
  for (int i = 0; i < 4; ++i) {
    out[kBatchLengthPos + static_cast<size_t>(i)] = static_cast<char>(length >> (24 - 8 * i));
  }
  // Last, once every byte it covers is final.
  const uint32_t crc = Crc32c(std::string_view(out).substr(kAttributesPos));
  for (int i = 0; i < 4; ++i) {
    out[kCrcPos + static_cast<size_t>(i)] = static_cast<char>(crc >> (24 - 8 * i));
  }
  return out;
}

absl::StatusOr<std::string> CompressBatch(std::string_view batch, Compression codec,
                                          SnappyFraming snappy_framing) {
  return CompressBatch(batch, codec,
                       CompressionOptions{.snappy_framing = snappy_framing, .level = {}});
}

absl::StatusOr<std::string> CompressBatch(std::string_view batch, Compression codec,
                                          const CompressionOptions& options) {
  absl::StatusOr<BatchHeader> h = ValidateBatch(batch);
  if (!h.ok()) return h.status();
  if (h->compression() != Compression::kNone) {
    return absl::InvalidArgumentError("batch is already compressed");
  }
  if (codec == Compression::kNone) {
    return absl::InvalidArgumentError(
        absl::StrFormat("no compressor for codec %d", static_cast<int>(codec)));
  }
  return EncodeBatch(batch.substr(0, kBatchHeaderSize), batch.substr(kBatchHeaderSize), codec,
                     options);
}

}  // namespace strata::record
