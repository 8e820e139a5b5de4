// Requests a hostile or careless client may send (issue 9): a fetch that
// names one partition 200 times and asks for 2 GiB, ListOffsets with
// special and nonsense timestamps. Each gets Kafka's answer, bounded in
// memory, and nothing stored changes.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <climits>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

constexpr int64_t kFetchMaxBytes = 8 << 20;

// A /proc/<pid>/status field in KiB.
int64_t StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(1)) << "cluster not ready; logs in " << cluster_.dir();
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(256 << 20);
    broker_ = v1::Broker::NewStub(
        grpc::CreateCustomChannel(cluster_.bootstrap(1), grpc::InsecureChannelCredentials(), args));
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  void CreateTopic(const std::string& name) {
    CliResult r = cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create",
                                "--topic", name, "--partitions", "1", "--replication-factor", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Produces one batch, retrying while the new topic's leadership settles.
  v1::PartitionProduceResponse Produce(const std::string& topic,
                                       const std::vector<record::Record>& records) {
    record::RecordBatchBuilder builder;
    for (const record::Record& r : records) builder.Append(r);
    v1::ProduceRequest req;
    req.set_acks(1);
    auto* p = req.add_topics();
    p->set_topic(topic);
    auto* part = p->add_partitions();
    part->set_partition(0);
    part->set_records(builder.Build());
    v1::PartitionProduceResponse out;
    for (int attempt = 0; attempt < 100; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::ProduceResponse resp;
      if (broker_->Produce(&ctx, req, &resp).ok() && resp.topics_size() > 0) {
        out = resp.topics(0).partitions(0);
        if (out.error() != v1::NOT_LEADER_OR_FOLLOWER &&
            out.error() != v1::UNKNOWN_TOPIC_OR_PARTITION &&
            out.error() != v1::LEADER_NOT_AVAILABLE) {
          return out;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return out;
  }

  v1::FetchResponse Fetch(const std::string& topic, int times, int32_t max_bytes) {
    v1::FetchRequest req;
    req.set_max_bytes(max_bytes);
    req.set_max_wait_ms(0);
    auto* t = req.add_topics();
    t->set_topic(topic);
    for (int i = 0; i < times; ++i) {
      auto* p = t->add_partitions();
      p->set_partition(0);
      p->set_fetch_offset(0);
      p->set_partition_max_bytes(INT32_MAX);
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::FetchResponse resp;
    grpc::Status s = broker_->Fetch(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  v1::ListOffsetsPartitionResponse ListOffset(const std::string& topic, int64_t timestamp) {
    v1::ListOffsetsRequest req;
    auto* t = req.add_topics();
    t->set_topic(topic);
    t->add_partitions()->set_timestamp(timestamp);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListOffsetsResponse resp;
    grpc::Status s = broker_->ListOffsets(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.topics_size() ? resp.topics(0).partitions(0) : v1::ListOffsetsPartitionResponse();
  }

  StrataCluster cluster_{1, {"fetch.max.bytes=" + std::to_string(kFetchMaxBytes)}};
  std::unique_ptr<v1::Broker::Stub> broker_;
};

TEST_F(HostileClientTest, AFetchNamingAPartition200TimesStaysWithinFetchMaxBytes) {
  // "dup" holds 4 MiB, "big" 32 MiB, in batches of about 256 KiB.
  const std::string value(1024, 'x');
  const size_t batch_bytes = value.size() * 256;
  for (const auto& [topic, batches] : {std::pair<std::string, int>{"dup", 16}, {"big", 128}}) {
    CreateTopic(topic);
    for (int b = 0; b < batches; ++b) {
      std::vector<record::Record> records(256);
      for (auto& r : records) {
        r.value = value;
        r.timestamp = 1000;
      }
      v1::PartitionProduceResponse p = Produce(topic, records);
      ASSERT_EQ(p.error(), v1::NONE) << p.error_message();
    }
  }
  // An ordinary fetch first, so the server's threads and buffers exist.
  v1::FetchResponse warm = Fetch("dup", 1, 1 << 20);
  ASSERT_EQ(warm.topics(0).partitions(0).error(), v1::NONE);
  const pid_t pid = cluster_.pid(1);
  ASSERT_GT(pid, 0);
  // Peak RSS starts again from the current RSS ("5" resets it).
  {
    std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
    clear << "5";
  }
  const int64_t rss_before_kb = StatusKb(pid, "VmHWM");

  // The probe's request: one partition named 200 times, 2 GiB asked for.
  // Read 200 times over it was 800 MiB; now the partition is read once.
  v1::FetchResponse resp = Fetch("dup", 200, INT32_MAX);
  const int64_t rss_growth = (StatusKb(pid, "VmHWM") - rss_before_kb) * 1024;
  ASSERT_EQ(resp.topics_size(), 1);
  ASSERT_EQ(resp.topics(0).partitions_size(), 200);
  const v1::FetchPartitionResponse& first = resp.topics(0).partitions(0);
  EXPECT_EQ(first.error(), v1::NONE) << first.error_message();
  // All 16 batches (record and batch headers on top of the values), once.
  EXPECT_GE(first.records().size(), 16 * batch_bytes);
  EXPECT_LT(first.records().size(), 17 * batch_bytes) << "the whole partition, once";
  EXPECT_LE(static_cast<int64_t>(resp.ByteSizeLong()), kFetchMaxBytes);
  for (int i = 1; i < 200; ++i) {
    const v1::FetchPartitionResponse& dup = resp.topics(0).partitions(i);
    EXPECT_EQ(dup.error(), v1::INVALID_REQUEST) << i;
    EXPECT_NE(dup.error_message().find("dup-0 appears more than once"), std::string::npos)
        << dup.error_message();
    EXPECT_TRUE(dup.records().empty());
  }
  std::printf("200x fetch: response %zu bytes, server peak RSS grew by %lld bytes\n",
              resp.ByteSizeLong(), static_cast<long long>(rss_growth));
  EXPECT_LT(rss_growth, 2 * kFetchMaxBytes);

  // A partition holding more than fetch.max.bytes, asked for everything:
  // at most fetch.max.bytes (beyond one first batch), and not much less.
  v1::FetchResponse single = Fetch("big", 1, INT32_MAX);
  const int64_t got = static_cast<int64_t>(single.topics(0).partitions(0).records().size());
  EXPECT_LE(got, kFetchMaxBytes + 2 * static_cast<int64_t>(batch_bytes))
      << "fetch.max.bytes bounds the response, beyond at most one first batch";
  EXPECT_GE(got, kFetchMaxBytes / 2);
  // The same 200 times over: refused duplicates, the cap once.
  v1::FetchResponse big200 = Fetch("big", 200, INT32_MAX);
  EXPECT_LE(static_cast<int64_t>(big200.ByteSizeLong()),
            kFetchMaxBytes + 2 * static_cast<int64_t>(batch_bytes) + 200 * 128);
}

TEST_F(HostileClientTest, AFirstBatchLargerThanTheLimitsStillComesWhole) {
  CreateTopic("wide");
  std::vector<record::Record> records(1);
  records[0].value = std::string(600 * 1024, 'w');
  records[0].timestamp = 1000;
  ASSERT_EQ(Produce("wide", records).error(), v1::NONE);
  v1::FetchRequest req;
  req.set_max_bytes(1024);
  auto* p = req.add_topics();
  p->set_topic("wide");
  auto* part = p->add_partitions();
  part->set_partition(0);
  part->set_partition_max_bytes(1024);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::FetchResponse resp;
  ASSERT_TRUE(broker_->Fetch(&ctx, req, &resp).ok());
  const std::string& bytes = resp.topics(0).partitions(0).records();
  auto decoded = record::DecodeRecords(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 1u) << "KIP-74: the first batch goes out whole";
  EXPECT_EQ(decoded->at(0).value->size(), 600u * 1024);
}

TEST_F(HostileClientTest, ListOffsetsAnswersWithTheRecordFoundAndRefusesNonsenseTimestamps) {
  CreateTopic("times");
  // Offsets 0..3 with timestamps 1000, 2000, 5000, 3000.
  std::vector<record::Record> records(4);
  const int64_t ts[] = {1000, 2000, 5000, 3000};
  for (int i = 0; i < 4; ++i) {
    records[i].value = "t" + std::to_string(i);
    records[i].timestamp = ts[i];
  }
  ASSERT_EQ(Produce("times", records).error(), v1::NONE);

  v1::ListOffsetsPartitionResponse r = ListOffset("times", 1500);
  EXPECT_EQ(r.error(), v1::NONE) << r.error_message();
  EXPECT_EQ(r.offset(), 1);
  EXPECT_EQ(r.timestamp(), 2000) << "the record's timestamp, not the one asked for";
  r = ListOffset("times", 4000);
  EXPECT_EQ(r.offset(), 2);
  EXPECT_EQ(r.timestamp(), 5000);
  r = ListOffset("times", 6000);
  EXPECT_EQ(r.error(), v1::NONE);
  EXPECT_EQ(r.offset(), -1) << "no record is that late";
  // -3: MAX_TIMESTAMP (KIP-734).
  r = ListOffset("times", -3);
  EXPECT_EQ(r.error(), v1::NONE) << r.error_message();
  EXPECT_EQ(r.offset(), 2);
  EXPECT_EQ(r.timestamp(), 5000);
  EXPECT_EQ(ListOffset("times", -1).offset(), 4);
  EXPECT_EQ(ListOffset("times", -2).offset(), 0);
  for (int64_t nonsense : {int64_t{-100}, int64_t{LLONG_MIN}, int64_t{-5}}) {
    r = ListOffset("times", nonsense);
    EXPECT_EQ(r.error(), v1::INVALID_REQUEST) << nonsense;
    EXPECT_NE(r.error_message().find(std::to_string(nonsense)), std::string::npos)
        << r.error_message();
  }
}

}  // namespace
}  // namespace strata::testing
