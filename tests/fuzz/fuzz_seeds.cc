// Writes the fuzzers' seed corpus: valid batches (keys, null keys, values,
// null values, headers) in every codec and framing, each with the control
// byte the fuzz targets read (fuzz_input.h): bit 0 set, so mutations keep a
// correct CRC.
//
//   fuzz_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "client/record/compression.h"
#include "client/record/record_batch.h"

int main(int argc, char** argv) {
  using namespace strata;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  constexpr int64_t kNow = 1'700'000'000'000;
  std::vector<std::string> plain;
  for (int n : {1, 3, 20}) {
    record::RecordBatchBuilder builder;
    for (int i = 0; i < n; ++i) {
      record::Record r;
      if (i % 3 != 1) r.key = "key-" + std::to_string(i);
      if (i % 4 != 2) r.value = std::string(static_cast<size_t>(10 + 37 * i), 'a' + (i % 26));
      if (i % 2 == 0) r.headers = {{"h", "v"}, {"trace-id", std::nullopt}};
      r.timestamp = kNow - 1000 + 17 * i - (i % 5 == 3 ? 400 : 0);
      builder.Append(r);
    }
    plain.push_back(builder.Build());
  }
  int written = 0;
  auto write = [&](const std::string& batch, uint8_t control) {
    std::ofstream out(dir + "/seed-" + std::to_string(written++), std::ios::binary);
    out.put(static_cast<char>(control));
    out << batch;
  };
  for (const std::string& b : plain) {
    write(b, 1);
    write(b, 3);  // LogAppendTime
    for (record::Compression c : {record::Compression::kGzip, record::Compression::kSnappy,
                                  record::Compression::kLz4, record::Compression::kZstd}) {
      absl::StatusOr<std::string> z = record::CompressBatch(b, c);
      if (!z.ok()) return 1;
      write(*z, 1);
    }
    absl::StatusOr<std::string> raw =
        record::CompressBatch(b, record::Compression::kSnappy, record::SnappyFraming::kRaw);
    if (!raw.ok()) return 1;
    write(*raw, 1);
  }
  std::printf("fuzz_seeds: %d seeds in %s\n", written, dir.c_str());
  return 0;
}
