// The Kafka listener of a real strata-server against hostile and careless
// clients (issue 14, acceptance 3 and 5): a 2 GiB declared frame is refused
// without the node's memory growing; an unknown API key and an unsupported
// Metadata version close the connection; ApiVersions v9 gets
// UNSUPPORTED_VERSION with the table; a client vanishing mid-frame costs
// nothing — and meanwhile a well-behaved client keeps getting Metadata.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/kafka/codec.h"
#include "broker/kafka/request_header.h"
#include "broker/kafka/wire.h"
#include "gtest/gtest.h"
#include "tests/common/kafka_test_client.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using kafka::ApiKey;
using kafka::testing::Client;
using kafka::testing::Request;

int64_t VmRssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class KafkaListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(1)) << "cluster not ready; logs in " << cluster_.dir();
    CliResult r = cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create",
                                "--topic", "kl", "--partitions", "2", "--replication-factor", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  StrataCluster cluster_{1};
};

TEST_F(KafkaListenerTest, HostileClientsAreRefusedWhileAWellBehavedOneIsServed) {
  const int port = cluster_.kafka_port(1);

  // The well-behaved client: Metadata v1 for every topic, over and over.
  std::atomic<bool> stop{false};
  std::atomic<int> answers{0};
  std::atomic<int> failures{0};
  std::thread good([&] {
    Client c(port);
    if (!c.connected()) {
      failures++;
      return;
    }
    int32_t id = 1;
    while (!stop) {
      kafka::MetadataRequest all;
      all.topics.reset();
      if (!c.Send(Request(3, 1, id, all))) {
        failures++;
        return;
      }
      std::optional<std::string> frame = c.ReadFrame();
      if (!frame) {
        failures++;
        return;
      }
      kafka::Reader r(*frame);
      absl::StatusOr<int32_t> correlation = kafka::ReadResponseHeader(r, 0);
      absl::StatusOr<kafka::MetadataResponse> m =
          kafka::Decode<kafka::MetadataResponse>(1, frame->substr(r.position()));
      if (!correlation.ok() || *correlation != id || !m.ok() || m->topics.size() != 1 ||
          m->topics[0].name != "kl" || m->brokers.size() != 1 || m->brokers[0].port != port) {
        failures++;
        return;
      }
      answers++;
      id++;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  // 1. A 2 GiB declared frame: closed, and the node's memory does not grow.
  const pid_t pid = cluster_.pid(1);
  const int64_t rss_before = VmRssKiB(pid);
  {
    Client c(port);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(std::string("\x7f\xff\xff\xff", 4) + std::string(1000, 'x')));
    EXPECT_TRUE(c.ClosedByServer());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int64_t rss_after = VmRssKiB(pid);
  std::printf("VmRSS before the 2 GiB frame %lld KiB, after %lld KiB (grew %lld KiB)\n",
              static_cast<long long>(rss_before), static_cast<long long>(rss_after),
              static_cast<long long>(rss_after - rss_before));
  EXPECT_LT(rss_after - rss_before, 16 * 1024);
  // A negative size too.
  {
    Client c(port);
    ASSERT_TRUE(c.Send(std::string("\xff\xff\xff\xfe", 4)));
    EXPECT_TRUE(c.ClosedByServer());
  }

  // 2. An unknown API key, and a Metadata version we do not speak: closed.
  {
    Client c(port);
    ASSERT_TRUE(c.Send(Request(9999, 0, 7, kafka::ApiVersionsRequest{})));
    EXPECT_TRUE(c.ClosedByServer());
  }
  {
    Client c(port);
    std::string frame = Request(3, 6, 8, kafka::MetadataRequest{});
    frame[7] = 12;  // api_version (bytes 6-7, after the size prefix) 6 -> 12
    ASSERT_TRUE(c.Send(frame));
    EXPECT_TRUE(c.ClosedByServer());
  }

  // 3. ApiVersions v9: UNSUPPORTED_VERSION with the whole table, header v0.
  {
    Client c(port);
    std::string frame = Request(18, 3, 9, kafka::ApiVersionsRequest{"x", "1"}, 2);
    frame[7] = 9;  // api_version 3 -> 9
    ASSERT_TRUE(c.Send(frame));
    std::optional<std::string> answer = c.ReadFrame();
    ASSERT_TRUE(answer.has_value());
    kafka::Reader r(*answer);
    absl::StatusOr<int32_t> correlation = kafka::ReadResponseHeader(r, 0);
    ASSERT_TRUE(correlation.ok());
    EXPECT_EQ(*correlation, 9);
    absl::StatusOr<kafka::ApiVersionsResponse> v =
        kafka::Decode<kafka::ApiVersionsResponse>(0, answer->substr(r.position()));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->error_code, 35);
    EXPECT_EQ(v->api_keys.size(), kafka::AdvertisedApis().size());
    // The connection stays usable: v3 now.
    ASSERT_TRUE(c.Send(Request(18, 3, 10, kafka::ApiVersionsRequest{"x", "1"}, 2)));
    answer = c.ReadFrame();
    ASSERT_TRUE(answer.has_value());
    kafka::Reader r3(*answer);
    ASSERT_TRUE(kafka::ReadResponseHeader(r3, 0).ok());
    v = kafka::Decode<kafka::ApiVersionsResponse>(3, answer->substr(r3.position()));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->error_code, 0);
  }

  // 4. Gone mid-frame: half a header, then half a body.
  for (size_t cut : {2, 6, 20}) {
    Client c(port);
    kafka::MetadataRequest m;
    m.topics.reset();
    const std::string frame = Request(3, 1, 11, m);
    ASSERT_TRUE(c.Send(frame.substr(0, std::min(cut, frame.size() - 1))));
    c.Close();
  }

  // 5. Produce and Fetch misbehaving: a topic count that lies, versions we
  // do not speak (v2 below, v8 above), records that are not a batch, and a
  // client gone while its long-poll fetch is parked.
  {
    Client c(port);
    kafka::ProduceRequest p;
    p.acks = 1;
    p.timeout_ms = 1000;
    std::string frame = Request(0, 7, 12, p);
    // The topic_data count (the last 4 bytes: no topics) says 2^31-1.
    frame.replace(frame.size() - 4, 4, std::string("\x7f\xff\xff\xff", 4));
    ASSERT_TRUE(c.Send(frame));
    EXPECT_TRUE(c.ClosedByServer());
  }
  for (int16_t version : {2, 8}) {
    Client c(port);
    std::string frame = Request(0, 7, 13, kafka::ProduceRequest{});
    frame[7] = static_cast<char>(version);
    ASSERT_TRUE(c.Send(frame));
    EXPECT_TRUE(c.ClosedByServer()) << "Produce v" << version;
  }
  {
    Client c(port);
    kafka::ProduceRequest p;
    p.acks = 1;
    p.timeout_ms = 1000;
    p.topic_data.push_back({.name = "kl", .partition_data = {{0, std::string(100, 'g')}}});
    ASSERT_TRUE(c.Send(Request(0, 7, 14, p)));
    std::optional<std::string> answer = c.ReadFrame();
    ASSERT_TRUE(answer.has_value()) << "a bad batch is the partition's error, not a close";
    kafka::Reader r(*answer);
    ASSERT_TRUE(kafka::ReadResponseHeader(r, 0).ok());
    absl::StatusOr<kafka::ProduceResponse> got =
        kafka::Decode<kafka::ProduceResponse>(7, answer->substr(r.position()));
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->responses.size(), 1u);
    EXPECT_NE(got->responses[0].partition_responses[0].error_code, 0);
  }
  {
    Client c(port);
    kafka::FetchRequest f;
    f.max_wait_ms = 30000;
    f.min_bytes = 1;
    f.max_bytes = 1 << 20;
    f.topics.push_back(
        {.topic = "kl", .partitions = {{.partition = 1, .partition_max_bytes = 1 << 20}}});
    ASSERT_TRUE(c.Send(Request(1, 11, 15, f)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    c.Close();  // gone while parked: its answer, at the deadline, goes nowhere
  }

  // 6. A client that half-closes after its request (shutdown(SHUT_WR))
  // still gets the answer of its parked long poll, then the close.
  {
    Client c(port);
    kafka::FetchRequest f;
    f.max_wait_ms = 500;
    f.min_bytes = 1;
    f.max_bytes = 1 << 20;
    f.topics.push_back(
        {.topic = "kl", .partitions = {{.partition = 0, .partition_max_bytes = 1 << 20}}});
    ASSERT_TRUE(c.Send(Request(1, 11, 16, f)));
    c.ShutdownWrite();
    std::optional<std::string> answer = c.ReadFrame();
    ASSERT_TRUE(answer.has_value()) << "the answer of a half-closed client is still sent";
    kafka::Reader r(*answer);
    absl::StatusOr<int32_t> correlation =
        kafka::ReadResponseHeader(r, kafka::ResponseHeaderVersion(ApiKey::kFetch, 11));
    ASSERT_TRUE(correlation.ok());
    EXPECT_EQ(*correlation, 16);
    EXPECT_TRUE(c.ClosedByServer());
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  good.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(answers.load(), 5);
  ASSERT_TRUE(cluster_.running(1));

  const std::string log = ReadFile(cluster_.log_path(1));
  EXPECT_NE(log.find("declared a 2147483647-byte request, over socket.request.max.bytes"),
            std::string::npos);
  EXPECT_NE(log.find("api_key=9999 api_version=0 correlation_id=7: unknown api key"),
            std::string::npos);
  EXPECT_NE(log.find("api_key=3 api_version=12 correlation_id=8: unsupported version"),
            std::string::npos);
  EXPECT_NE(log.find("api_key=0 api_version=7 correlation_id=12: bad request body"),
            std::string::npos);
  EXPECT_NE(log.find("api_key=0 api_version=2 correlation_id=13: unsupported version"),
            std::string::npos);

  // Nothing the hostile clients sent was stored: both partitions are empty,
  // and a well-formed produce lands at offset 0.
  CliResult offsets =
      cluster_.Cli({"get-offsets", "--bootstrap-server", cluster_.bootstrap(1), "--topic", "kl"});
  ASSERT_EQ(offsets.exit_code, 0) << offsets.err;
  EXPECT_EQ(offsets.out, "kl:0:0\nkl:1:0\n");
}

// DescribeLogDirs as kafka-log-dirs.sh's admin client sends it (v4, every
// partition) and as an older client does (v1, some partitions): the node's
// one log dir with the partitions it holds.
TEST_F(KafkaListenerTest, DescribeLogDirsAnswersWithThisNodesLogDir) {
  Client c(cluster_.kafka_port(1));
  ASSERT_TRUE(c.connected());
  const std::string log_dir = cluster_.dir() + "/node1/logs";

  // Every partition (Topics null), until the node has created both of
  // "kl"'s replicas.
  std::vector<std::string> held;
  int32_t next_id = 7;
  auto ask_all = [&] {
    const int32_t asked = next_id++;
    EXPECT_TRUE(c.Send(Request(35, 4, asked, kafka::DescribeLogDirsRequest{}, 2)));
    std::optional<std::string> frame = c.ReadFrame();
    if (!frame.has_value()) {
      ADD_FAILURE() << "no answer";
      return false;
    }
    kafka::Reader r(*frame);
    absl::StatusOr<int32_t> id =
        kafka::ReadResponseHeader(r, kafka::ResponseHeaderVersion(ApiKey::kDescribeLogDirs, 4));
    EXPECT_TRUE(id.ok() && *id == asked);
    absl::StatusOr<kafka::DescribeLogDirsResponse> all =
        kafka::Decode<kafka::DescribeLogDirsResponse>(4, frame->substr(r.position()));
    if (!all.ok()) {
      ADD_FAILURE() << all.status();
      return false;
    }
    EXPECT_EQ(all->error_code, 0);
    if (all->results.size() != 1) {
      ADD_FAILURE() << all->results.size() << " log dirs";
      return false;
    }
    EXPECT_EQ(all->results[0].error_code, 0);
    EXPECT_EQ(all->results[0].log_dir, log_dir);
    held.clear();
    for (const auto& t : all->results[0].topics) {
      for (const auto& p : t.partitions) {
        held.push_back(t.name + "-" + std::to_string(p.partition_index));
        EXPECT_GE(p.partition_size, 0);
        EXPECT_EQ(p.offset_lag, 0) << "this node leads what it holds";
        EXPECT_FALSE(p.is_future_key);
      }
    }
    return std::find(held.begin(), held.end(), "kl-0") != held.end() &&
           std::find(held.begin(), held.end(), "kl-1") != held.end();
  };
  ASSERT_TRUE(Eventually(ask_all, 10000)) << "kl-0 and kl-1 not both listed";

  kafka::DescribeLogDirsRequest one;
  one.topics = std::vector<kafka::DescribeLogDirsRequest::Topic>{{"kl", {1}}};
  ASSERT_TRUE(c.Send(Request(35, 1, 100, one)));
  std::optional<std::string> frame = c.ReadFrame();
  ASSERT_TRUE(frame.has_value());
  kafka::Reader r1(*frame);
  ASSERT_TRUE(kafka::ReadResponseHeader(r1, 0).ok());
  absl::StatusOr<kafka::DescribeLogDirsResponse> some =
      kafka::Decode<kafka::DescribeLogDirsResponse>(1, frame->substr(r1.position()));
  ASSERT_TRUE(some.ok()) << some.status();
  ASSERT_EQ(some->results.size(), 1u);
  ASSERT_EQ(some->results[0].topics.size(), 1u);
  EXPECT_EQ(some->results[0].topics[0].name, "kl");
  ASSERT_EQ(some->results[0].topics[0].partitions.size(), 1u);
  EXPECT_EQ(some->results[0].topics[0].partitions[0].partition_index, 1);
}

}  // namespace
}  // namespace strata::testing
