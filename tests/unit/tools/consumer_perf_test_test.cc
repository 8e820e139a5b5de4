#include "tools/consumer_perf_test.h"

#include <regex>

#include "gtest/gtest.h"

namespace strata::tools {
namespace {

TEST(ConsumerPerfTest, FiguresLineHasKafkasFieldsAndArithmetic) {
  // 200 MiB and 2,000,000 records in 4 s.
  const std::string line =
      FormatConsumerPerfLine(1'700'000'000'000, 1'700'000'004'000, 200LL * 1024 * 1024, 2'000'000);
  EXPECT_TRUE(std::regex_match(
      line,
      std::regex("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d:000, \\d{4}-\\d\\d-\\d\\d "
                 "\\d\\d:\\d\\d:\\d\\d:000, 200.0000, 50.0000, 2000000, 500000.0000, 0, 4000, "
                 "50.0000, 500000.0000")))
      << line;
}

}  // namespace
}  // namespace strata::tools
