// Issue 13's retention on real processes: a partition produced to five times
// its retention.bytes stays within retention.bytes plus one segment on every
// replica, its log start moves, and a consumer below it resets per
// auto.offset.reset; retention.ms removes old segments within two check
// intervals; DeleteRecords moves every in-sync replica's log start.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client/consumer.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kCheckIntervalMs = 1000;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  void CreateTopic(const std::string& topic, const std::vector<std::string>& configs) {
    std::vector<std::string> args = {"topics",
                                     "--bootstrap-server",
                                     cluster_.bootstrap(1),
                                     "--create",
                                     "--topic",
                                     topic,
                                     "--partitions",
                                     "1",
                                     "--replication-factor",
                                     "3"};
    for (const std::string& c : configs) {
      args.push_back("--config");
      args.push_back(c);
    }
    CliResult r = cluster_.Cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Produces `n` records of `value_bytes` each to partition 0, acks=all;
  // returns how many failed.
  int Produce(const std::string& topic, int n, size_t value_bytes) {
    client::ProducerConfig pc;
    pc.bootstrap_servers = cluster_.bootstrap_all();
    pc.acks = -1;
    auto producer = client::Producer::Create(pc);
    EXPECT_TRUE(producer.ok()) << producer.status();
    if (!producer.ok()) return n;
    std::atomic<int> failed{0};
    for (int i = 0; i < n; ++i) {
      client::ProducerRecord r;
      r.topic = topic;
      r.partition = 0;
      r.value = std::to_string(i) + std::string(value_bytes, 'x');
      (*producer)->Send(std::move(r), [&](const absl::StatusOr<client::RecordMetadata>& md) {
        if (!md.ok()) ++failed;
      });
    }
    (*producer)->Flush();
    (*producer)->Close();
    return failed.load();
  }

  // The bytes of node `n`'s segment files (.log) of `topic`-0; set-aside
  // (.deleted) files counted apart.
  int64_t SegmentBytes(int n, const std::string& topic, int64_t* set_aside = nullptr) {
    const fs::path dir =
        fs::path(cluster_.dir()) / ("node" + std::to_string(n)) / "logs" / (topic + "-0");
    int64_t live = 0, deleted = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      // The broker renames and deletes these files as we look: one gone
      // between the listing and its size counts as gone.
      std::error_code size_ec;
      const auto size = static_cast<int64_t>(e.file_size(size_ec));
      if (size_ec) continue;
      const std::string name = e.path().filename().string();
      if (name.ends_with(".log")) live += size;
      if (name.ends_with(".deleted")) deleted += size;
    }
    if (set_aside != nullptr) *set_aside = deleted;
    return live;
  }

  // ListOffsets earliest (-2) or latest (-1) at `topic`-0's leader, asked
  // of each node in turn until one leads it.
  int64_t ListOffset(const std::string& topic, int64_t timestamp) {
    for (int n : cluster_.nodes()) {
      v1::ListOffsetsRequest req;
      auto* t = req.add_topics();
      t->set_topic(topic);
      t->add_partitions()->set_timestamp(timestamp);
      v1::ListOffsetsResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      if (cluster_.broker(n)->ListOffsets(&ctx, req, &resp).ok() && resp.topics_size() == 1 &&
          resp.topics(0).partitions(0).error() == v1::NONE) {
        return resp.topics(0).partitions(0).offset();
      }
    }
    return -1;
  }

  template <typename F>
  bool Eventually(F done, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  }

  // A consumer of `topic`-0 at `offset` with `reset`: the first record's
  // offset Poll returns, or the error.
  absl::StatusOr<int64_t> FirstOffsetFrom(const std::string& topic, int64_t offset,
                                          const std::string& reset) {
    auto config = client::ConsumerConfig::FromProperties(
        {{"bootstrap.servers", cluster_.bootstrap_all()}, {"auto.offset.reset", reset}}, nullptr);
    if (!config.ok()) return config.status();
    auto consumer = client::Consumer::Create(*config);
    if (!consumer.ok()) return consumer.status();
    const TopicPartition tp{topic, PartitionId(0)};
    (*consumer)->Assign({tp});
    (*consumer)->Seek(tp, offset);
    for (int i = 0; i < 50; ++i) {
      absl::StatusOr<std::vector<client::ConsumerRecord>> records =
          (*consumer)->Poll(absl::Milliseconds(200));
      if (!records.ok()) return records.status();
      if (!records->empty()) return records->front().offset;
    }
    return absl::DeadlineExceededError("no records");
  }

  StrataCluster cluster_{3,
                         {"log.retention.check.interval.ms=" + std::to_string(kCheckIntervalMs)}};
};

TEST_F(RetentionTest, SizeBoundsEveryReplicaAndAConsumerBelowTheStartResets) {
  constexpr int64_t kRetention = 200'000;
  constexpr int64_t kSegment = 50'000;
  CreateTopic("bounded",
              {"retention.bytes=" + std::to_string(kRetention),
               "segment.bytes=" + std::to_string(kSegment), "file.delete.delay.ms=2000"});
  // Five times retention.bytes, in 1 KiB records.
  ASSERT_EQ(Produce("bounded", 1000, 1000), 0);
  const int64_t end = ListOffset("bounded", -1);
  ASSERT_EQ(end, 1000);
  for (int n : cluster_.nodes()) {
    EXPECT_TRUE(Eventually([&] { return SegmentBytes(n, "bounded") <= kRetention + kSegment; },
                           4 * kCheckIntervalMs))
        << "node " << n << " holds " << SegmentBytes(n, "bounded") << " bytes of segments";
    EXPECT_GE(SegmentBytes(n, "bounded"), kRetention - kSegment) << "node " << n;
  }
  const int64_t start = ListOffset("bounded", -2);
  EXPECT_GT(start, 0);
  EXPECT_LT(start, end);
  // What was set aside goes after file.delete.delay.ms.
  for (int n : cluster_.nodes()) {
    int64_t set_aside = 0;
    EXPECT_TRUE(Eventually(
        [&] {
          SegmentBytes(n, "bounded", &set_aside);
          return set_aside == 0;
        },
        2000 + 3 * kCheckIntervalMs))
        << "node " << n << " still holds " << set_aside << " bytes of .deleted files";
  }

  // Below the start: out of range, then auto.offset.reset decides.
  absl::StatusOr<int64_t> earliest = FirstOffsetFrom("bounded", 0, "earliest");
  ASSERT_TRUE(earliest.ok()) << earliest.status();
  EXPECT_GE(*earliest, start);
  EXPECT_LT(*earliest, end);
  absl::StatusOr<int64_t> none = FirstOffsetFrom("bounded", 0, "none");
  EXPECT_FALSE(none.ok());
  EXPECT_NE(std::string(none.status().message()).find("out of range"), std::string::npos)
      << none.status();
}

TEST_F(RetentionTest, OldSegmentsGoWithinTwoCheckIntervalsOfExpiring) {
  constexpr int64_t kRetentionMs = 3000;
  CreateTopic("aging", {"retention.ms=" + std::to_string(kRetentionMs), "segment.bytes=20000"});
  ASSERT_EQ(Produce("aging", 100, 1000), 0);
  const auto produced = Clock::now();
  ASSERT_EQ(ListOffset("aging", -1), 100);
  // Nothing goes before the records are retention.ms old.
  std::this_thread::sleep_for(std::chrono::milliseconds(kRetentionMs - 1000));
  EXPECT_EQ(ListOffset("aging", -2), 0);
  // Then within two check intervals every segment, the active one too
  // (rolled first), goes: the log starts at its end.
  EXPECT_TRUE(Eventually(
      [&] { return ListOffset("aging", -2) == 100; },
      static_cast<int>(
          kRetentionMs + 2 * kCheckIntervalMs -
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - produced).count()) +
          500))
      << "log start " << ListOffset("aging", -2);
  for (int n : cluster_.nodes()) {
    EXPECT_TRUE(Eventually([&] { return SegmentBytes(n, "aging") == 0; }, 2 * kCheckIntervalMs))
        << "node " << n << " holds " << SegmentBytes(n, "aging");
  }
  // Producing goes on at the end.
  ASSERT_EQ(Produce("aging", 5, 10), 0);
  EXPECT_EQ(ListOffset("aging", -1), 105);
}

TEST_F(RetentionTest, DeleteRecordsMovesEveryInSyncReplicasLogStart) {
  CreateTopic("trimmed", {});
  ASSERT_EQ(Produce("trimmed", 50, 100), 0);
  v1::DeleteRecordsResponse resp;
  bool answered = false;
  for (int attempt = 0; attempt < 50 && !answered; ++attempt) {
    for (int n : cluster_.nodes()) {
      v1::DeleteRecordsRequest req;
      req.set_timeout_ms(10000);
      auto* t = req.add_topics();
      t->set_topic("trimmed");
      auto* p = t->add_partitions();
      p->set_partition(0);
      p->set_offset(20);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
      resp.Clear();
      if (cluster_.broker(n)->DeleteRecords(&ctx, req, &resp).ok() &&
          resp.topics(0).partitions(0).error() != v1::NOT_LEADER_OR_FOLLOWER) {
        answered = true;
        break;
      }
    }
  }
  ASSERT_TRUE(answered);
  const v1::DeleteRecordsPartitionResponse& r = resp.topics(0).partitions(0);
  EXPECT_EQ(r.error(), v1::NONE) << r.error_message();
  EXPECT_EQ(r.low_watermark(), 20) << "every in-sync replica moved its start before the answer";
  EXPECT_EQ(ListOffset("trimmed", -2), 20);
  absl::StatusOr<int64_t> first = FirstOffsetFrom("trimmed", 0, "earliest");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 20);
}

// Kafka's kafka-delete-records and kafka-get-offsets, line for line.
TEST_F(RetentionTest, DeleteRecordsAndGetOffsetsThroughTheCli) {
  CliResult r = cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create",
                              "--topic", "cli", "--partitions", "2", "--replication-factor", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 40 records to partition 0; partition 1 stays empty.
  ASSERT_EQ(Produce("cli", 40, 10), 0);
  auto GetOffsets = [&](std::vector<std::string> args) {
    std::vector<std::string> full = {"get-offsets", "--bootstrap-server", cluster_.bootstrap(2)};
    full.insert(full.end(), args.begin(), args.end());
    return cluster_.Cli(full);
  };
  r = GetOffsets({"--topic", "cli"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "cli:0:40\ncli:1:0\n");
  r = GetOffsets({"--topic-partitions", "cl.*:0", "--time", "earliest"});
  EXPECT_EQ(r.out, "cli:0:0\n") << r.err;

  const std::string file = cluster_.dir() + "/offsets.json";
  auto DeleteRecords = [&](const std::string& json) {
    std::ofstream(file) << json;
    return cluster_.Cli({"delete-records", "--bootstrap-server", cluster_.bootstrap(3),
                         "--offset-json-file", file});
  };
  r = DeleteRecords(
      R"({"partitions": [{"topic": "cli", "partition": 0, "offset": 25},
                         {"topic": "cli", "partition": 1, "offset": 5}], "version": 1})");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Executing records delete operation\n"
            "Records delete operation completed:\n"
            "partition: cli-0\tlow_watermark: 25\n"
            "partition: cli-1\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: "
            "Cannot increment the log start offset to 5 of partition cli-1 since it is larger "
            "than the high watermark 0\n");
  r = GetOffsets({"--topic", "cli", "--time", "-2"});
  EXPECT_EQ(r.out, "cli:0:25\ncli:1:0\n") << r.err;
  // -1 is the high watermark.
  r = DeleteRecords(R"({"partitions": [{"topic": "cli", "partition": 0, "offset": -1}]})");
  EXPECT_NE(r.out.find("partition: cli-0\tlow_watermark: 40\n"), std::string::npos) << r.out;

  // Bad files change nothing.
  r = DeleteRecords(R"({"partitions": [{"topic": "cli", "partition": 0, "offset": 1},
                                       {"topic": "cli", "partition": 0, "offset": 2}]})");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: Offset json file contains duplicate topic partitions: cli-0\n");
  EXPECT_EQ(r.out, "");
  r = DeleteRecords("{nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("The input string is not a valid JSON"), std::string::npos) << r.err;
  r = DeleteRecords(R"({"partitions": [{"topic": "missing", "partition": 0, "offset": 1}]})");
  EXPECT_NE(r.out.find("partition: missing-0\terror: "
                       "org.apache.kafka.common.errors.UnknownTopicOrPartitionException"),
            std::string::npos)
      << r.out;
  r = GetOffsets({"--topic", "cli", "--topic-partitions", "cli:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--topic-partitions cannot be used with --topic or --partitions"),
            std::string::npos)
      << r.err;
  r = GetOffsets({"--topic", "nothing-like-it"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Could not match any topic-partitions with the specified filters"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(GetOffsets({"--topic", "cli", "--time", "-2"}).out, "cli:0:40\ncli:1:0\n");
}

}  // namespace
}  // namespace strata::testing
