// Metrics: what the hot paths record shows in the scrape under the names
// and labels the README lists; deleted topics' series go and come back;
// collectors' families are merged in; the process family reads /proc.
#include "broker/metrics/metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, TopicCountersShowWithTheirTopic) {
  Metrics m;
  TopicMetrics& t = m.Topic("orders");
  t.bytes_in->Increment(1024);
  t.records_in->Increment(8);
  m.Topic("orders").bytes_in->Increment(1);  // the same counters again
  m.Topic("payments").bytes_out->Increment(5);
  const std::string text = m.Scrape();
  EXPECT_THAT(text, HasSubstr("strata_topic_bytes_in_total{topic=\"orders\"} 1025"));
  EXPECT_THAT(text, HasSubstr("strata_topic_records_in_total{topic=\"orders\"} 8"));
  EXPECT_THAT(text, HasSubstr("strata_topic_bytes_out_total{topic=\"payments\"} 5"));
  EXPECT_THAT(text, HasSubstr("# TYPE strata_topic_bytes_in_total counter"));
}

TEST(MetricsTest, ADeletedTopicsSeriesGoAndComeBackCountingOn) {
  Metrics m;
  m.Topic("gone").bytes_in->Increment(10);
  m.Topic("stays").bytes_in->Increment(3);
  m.ForgetTopic("gone");
  std::string text = m.Scrape();
  EXPECT_THAT(text, Not(HasSubstr("topic=\"gone\"")));
  EXPECT_THAT(text, HasSubstr("strata_topic_bytes_in_total{topic=\"stays\"} 3"));
  // Created again: a counter never goes backwards.
  m.Topic("gone").bytes_in->Increment(1);
  text = m.Scrape();
  EXPECT_THAT(text, HasSubstr("strata_topic_bytes_in_total{topic=\"gone\"} 11"));
}

TEST(MetricsTest, RequestsAreCountedByApiAndListenerWithTheirLatency) {
  Metrics m;
  m.Request("Produce", "kafka").Observe(0.0004, /*error=*/false);
  m.Request("Produce", "kafka").Observe(0.003, /*error=*/true);
  m.Request("Fetch", "grpc").Observe(0.2, /*error=*/false);
  const std::string text = m.Scrape();
  EXPECT_THAT(text, HasSubstr(
      "strata_request_duration_seconds_count{api=\"Produce\",listener=\"kafka\"} 2"));
  EXPECT_THAT(text, HasSubstr(
      "strata_request_duration_seconds_bucket{api=\"Produce\",listener=\"kafka\",le=\"0.0005\"} 1"));
  EXPECT_THAT(text, HasSubstr(
      "strata_request_duration_seconds_bucket{api=\"Produce\",listener=\"kafka\",le=\"0.005\"} 2"));
  EXPECT_THAT(text, HasSubstr("strata_request_errors_total{api=\"Produce\",listener=\"kafka\"} 1"));
  EXPECT_THAT(text, HasSubstr("strata_request_errors_total{api=\"Fetch\",listener=\"grpc\"} 0"));
  EXPECT_THAT(text, HasSubstr(
      "strata_request_duration_seconds_count{api=\"Fetch\",listener=\"grpc\"} 1"));
}

TEST(MetricsTest, CollectorsAddTheirFamiliesAtEachScrape) {
  Metrics m;
  int partitions = 3;
  m.AddCollector([&](Collection& c) {
    c.Gauge("strata_partitions", "Partitions", {}, partitions);
    c.Gauge("strata_consumer_group_lag", "Lag", {{"group", "g"}, {"topic", "t"}, {"partition", "0"}},
            40);
    c.Gauge("strata_consumer_group_lag", "Lag", {{"group", "g"}, {"topic", "t"}, {"partition", "1"}},
            2);
    c.DeclareGauge("strata_partitions_offline", "Offline");
  });
  std::string text = m.Scrape();
  EXPECT_THAT(text, HasSubstr("strata_partitions 3"));
  EXPECT_THAT(text, HasSubstr(
      "strata_consumer_group_lag{group=\"g\",topic=\"t\",partition=\"0\"} 40"));
  EXPECT_THAT(text, HasSubstr(
      "strata_consumer_group_lag{group=\"g\",topic=\"t\",partition=\"1\"} 2"));
  // One HELP/TYPE per family, however many samples.
  const std::string type = "# TYPE strata_consumer_group_lag gauge";
  EXPECT_EQ(text.find(type), text.rfind(type));
  EXPECT_THAT(text, HasSubstr("# TYPE strata_partitions_offline gauge"));
  partitions = 4;
  EXPECT_THAT(m.Scrape(), HasSubstr("strata_partitions 4"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Metrics m;
  m.AddCollector([](Collection& c) {
    c.Gauge("strata_x", "x", {{"group", "a\"b\\c\nd"}}, 1);
  });
  EXPECT_THAT(m.Scrape(), HasSubstr("strata_x{group=\"a\\\"b\\\\c\\nd\"} 1"));
}

TEST(MetricsTest, TheProcessFamilyReadsThisProcess) {
  Collection c;
  CollectProcess(c);
  double rss = 0, fds = 0, cpu = -1, start = 0;
  for (const prometheus::MetricFamily& f : c.Take()) {
    ASSERT_EQ(f.metric.size(), 1u) << f.name;
    if (f.name == "process_resident_memory_bytes") rss = f.metric[0].gauge.value;
    if (f.name == "process_open_fds") fds = f.metric[0].gauge.value;
    if (f.name == "process_cpu_seconds_total") cpu = f.metric[0].counter.value;
    if (f.name == "process_start_time_seconds") start = f.metric[0].gauge.value;
  }
  EXPECT_GT(rss, 1 << 20);
  EXPECT_GE(fds, 3);  // stdin, stdout, stderr at least
  EXPECT_GE(cpu, 0);
  EXPECT_GT(start, 1.6e9);  // after 2020, in seconds since the epoch
  EXPECT_LT(start, 4.1e9);
}

}  // namespace
}  // namespace strata::metrics
