#include "tools/producer_perf_test.h"

#include <regex>

#include "gtest/gtest.h"

namespace strata::tools {
namespace {

TEST(PerfStatsTest, WindowsAndSummaryInKafkasFormat) {
  PerfStats stats(/*num_records=*/1000, /*start_ms=*/0, /*reporting_interval_ms=*/5000);
  std::optional<std::string> window;
  for (int i = 0; i < 1000; ++i) {
    // Latencies 1..1000 ms; the window closes at t = 5000.
    std::optional<std::string> w = stats.Record(i + 1, 100, i < 999 ? 10 : 5000);
    if (w) window = w;
  }
  ASSERT_TRUE(window.has_value());
  EXPECT_EQ(*window,
            "1000 records sent, 200.0 records/sec (0.02 MB/sec), 500.5 ms avg latency, 1000.0 ms "
            "max latency.");
  EXPECT_EQ(stats.Summary(10000),
            "1000 records sent, 100.000000 records/sec (0.01 MB/sec), 500.50 ms avg latency, "
            "1000.00 ms max latency, 501 ms 50th, 951 ms 95th, 991 ms 99th, 1000 ms 99.9th.");
}

TEST(PerfStatsTest, ManyRecordsAreSampledForPercentiles) {
  PerfStats stats(/*num_records=*/2'000'000, 0, 1'000'000);
  for (int i = 0; i < 2'000'000; ++i) stats.Record(i % 100, 10, 1);
  EXPECT_EQ(stats.count(), 2'000'000);
  std::string summary = stats.Summary(1000);
  EXPECT_TRUE(std::regex_search(summary, std::regex(", 49.50 ms avg latency, 99.00 ms max latency, "
                                                    "[0-9]+ ms 50th")))
      << summary;
}

TEST(ProducerPerfTest, RefusesMissingBootstrapOrBadSizes) {
  std::ostringstream out, err;
  ProducerPerfOptions o;
  o.topic = "t";
  o.num_records = 10;
  EXPECT_EQ(RunProducerPerfTest(o, out, err), 1);
  EXPECT_NE(err.str().find("bootstrap.servers"), std::string::npos) << err.str();
  o.num_records = 0;
  err.str("");
  EXPECT_EQ(RunProducerPerfTest(o, out, err), 1);
  EXPECT_NE(err.str().find("--num-records"), std::string::npos);
}

}  // namespace
}  // namespace strata::tools
