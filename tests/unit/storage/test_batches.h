// Helpers for storage tests: batches with recognisable contents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/record/record_batch.h"

namespace strata::storage::testing {

// A batch of `count` records whose values are "v<first_id>".."v<first_id+count-1>",
// with timestamps starting at `timestamp` and increasing by one. Each record
// carries a "pad" header of `value_padding` bytes, to make batches bigger.
inline std::string MakeBatch(int first_id, int count, int64_t timestamp = 1000,
                             size_t value_padding = 0) {
  record::RecordBatchBuilder builder;
  for (int i = 0; i < count; ++i) {
    record::Record r;
    r.key = "k" + std::to_string(first_id + i);
    r.value = "v" + std::to_string(first_id + i);
    if (value_padding > 0) r.headers.push_back({"pad", std::string(value_padding, 'x')});
    r.timestamp = timestamp + i;
    builder.Append(r);
  }
  return builder.Build();
}

// Values of every record in a buffer of concatenated batches.
inline std::vector<std::string> Values(std::string_view batches) {
  std::vector<std::string> out;
  record::BatchIterator it(batches);
  record::BatchHeader header;
  std::string_view batch;
  while (it.Next(&header, &batch)) {
    auto records = record::DecodeRecords(batch);
    if (!records.ok()) {
      out.push_back("<" + std::string(records.status().message()) + ">");
      continue;
    }
    for (const record::Record& r : *records) out.push_back(r.value.value_or("<null>"));
  }
  return out;
}

// A zig-zag varint (protobuf's sint64), encoded independently of the codec
// under test, for tests that assemble batches by hand.
inline std::string ZigZagVarint(int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ (v < 0 ? ~uint64_t{0} : 0);
  std::string out;
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
  return out;
}

}  // namespace strata::storage::testing
