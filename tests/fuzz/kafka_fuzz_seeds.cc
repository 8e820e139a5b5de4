// Writes kafka_request_fuzzer's seed corpus: for every API and version with
// a codec, a request frame (header + a request with every field set) and a
// frame carrying that API's response body behind the same header (the
// fuzzer decodes bodies as responses too).
//
//   kafka_fuzz_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "broker/kafka/api_versions.h"
#include "broker/kafka/message_specs.h"
#include "broker/kafka/request_header.h"
#include "tests/unit/kafka/message_generator.h"

int main(int argc, char** argv) {
  using namespace strata::kafka;
  if (argc != 2) {
    std::fprintf(stderr, "usage: kafka_fuzz_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  int written = 0;
  for (const ApiInfo& api : SupportedApis()) {
    for (int16_t v = api.min_version; v <= api.max_version; ++v) {
      const bool flexible = IsFlexible(api.key, v);
      for (const StructSpec* spec : {RequestSpec(api.key), ResponseSpec(api.key)}) {
        std::string frame;
        Writer w(&frame);
        RequestHeader header{api.key, v, 1000 + written, "fuzz-seed"};
        if (!WriteRequestHeader(header, RequestHeaderVersion(api.key, v), w).ok()) return 1;
        frame +=
            testing::MessageGenerator({.bools = (written % 2 == 0)}).Generate(*spec, v, flexible);
        std::ofstream out(dir + "/kafka-seed-" + std::to_string(written++), std::ios::binary);
        out << frame;
      }
    }
  }
  std::printf("kafka_fuzz_seeds: %d seeds in %s\n", written, dir.c_str());
  return 0;
}
