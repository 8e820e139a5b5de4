// Compression end to end on real processes (issue 13, acceptance 3): every
// codec round-trips through the CLI (console-producer --compression-codec
// and --producer-property compression.type, console-consumer,
// producer-perf-test), through the client library's Producer and Consumer,
// and into topics whose compression.type differs from the producer's. The
// codec each batch was stored with is read from the segment files of every
// replica: the broker keeps the producer's codec for compression.type=producer
// and re-encodes with the topic's otherwise (followers copying the leader's
// bytes).
#include "client/record/compression.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "client/consumer.h"
#include "client/producer.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

const std::vector<std::string> kCodecs = {"none", "gzip", "snappy", "lz4", "zstd"};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The codec of every batch in a partition's segment files on `node`, in
// offset order, and the records they hold (decoded).
struct StoredPartition {
  std::vector<std::string> codecs;
  std::vector<size_t> sizes;  // of each batch, in bytes
  std::vector<std::string> values;
  std::string error;  // a batch that does not validate or decode
};

StoredPartition ReadStored(const StrataCluster& cluster, int node, const std::string& topic,
                           int partition) {
  StoredPartition out;
  const std::filesystem::path dir = cluster.partition_dir(node, topic, partition);
  if (!std::filesystem::exists(dir)) return out;
  std::vector<std::filesystem::path> segments;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log") segments.push_back(e.path());
  }
  std::sort(segments.begin(), segments.end());  // 20-digit base offsets
  for (const auto& segment : segments) {
    const std::string bytes = ReadFile(segment.string());
    record::BatchIterator it(bytes);
    record::BatchHeader h;
    std::string_view batch;
    while (it.Next(&h, &batch)) {
      absl::StatusOr<std::vector<record::Record>> records = record::DecodeRecords(batch);
      if (!records.ok()) {
        out.error = std::string(records.status().message());
        return out;
      }
      const char* name = record::CompressionName(h.compression());
      out.codecs.push_back(name != nullptr ? name : "?");
      out.sizes.push_back(batch.size());
      for (const record::Record& r : *records) out.values.push_back(r.value.value_or("<null>"));
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

class CompressionTest : public ::testing::Test {
 protected:
  CompressionTest() : cluster_(3) {}

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

  void CreateTopic(const std::string& topic, const std::string& compression_type) {
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
    if (!compression_type.empty()) {
      args.push_back("--config");
      args.push_back("compression.type=" + compression_type);
    }
    CliResult r = cluster_.Cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // Waits until every replica of `topic`-0 holds `batches` batches, then
  // returns what each holds (node -> stored).
  std::map<int, StoredPartition> StoredOnEveryReplica(const std::string& topic, size_t batches) {
    std::map<int, StoredPartition> stored;
    Eventually(
        [&] {
          for (int node : cluster_.nodes()) stored[node] = ReadStored(cluster_, node, topic, 0);
          for (const auto& [node, s] : stored) {
            if (s.codecs.size() < batches || !s.error.empty()) return false;
          }
          return true;
        },
        30000);
    return stored;
  }

  std::vector<std::string> ConsoleConsume(const std::string& topic, int messages) {
    CliResult r = cluster_.Cli({"console-consumer", "--bootstrap-server", cluster_.bootstrap(2),
                                "--topic", topic, "--from-beginning", "--max-messages",
                                std::to_string(messages), "--timeout-ms", "20000"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return NonEmptyLines(r.out);
  }

  StrataCluster cluster_;
};

// console-producer --compression-codec C (and a bare --compression-codec,
// gzip as in Kafka, and --producer-property compression.type) into a
// compression.type=producer topic: each run's batch is stored with its
// codec on every replica, and console-consumer prints every record.
// producer-perf-test honours --producer-props compression.type.
TEST_F(CompressionTest, EveryCodecRoundTripsThroughTheCli) {
  CreateTopic("cli", "");
  std::vector<std::string> expected_values;
  std::vector<std::string> expected_codecs;
  auto produce = [&](const std::vector<std::string>& flags, const std::string& tag,
                     const std::string& stored_codec) {
    std::string input;
    for (int i = 0; i < 20; ++i) {
      const std::string line = "{\"codec\": \"" + tag + "\", \"n\": " + std::to_string(i) +
                               ", \"text\": \"the same words again and again\"}";
      input += line + "\n";
      expected_values.push_back(line);
    }
    std::vector<std::string> args = {"console-producer", "--bootstrap-server",
                                     cluster_.bootstrap(3), "--topic", "cli"};
    args.insert(args.end(), flags.begin(), flags.end());
    CliResult r = cluster_.Cli(args, input);
    ASSERT_EQ(r.exit_code, 0) << tag << ": " << r.err;
    EXPECT_EQ(r.err, "") << tag;
    expected_codecs.push_back(stored_codec);
  };
  for (const std::string& codec : kCodecs) produce({"--compression-codec", codec}, codec, codec);
  produce({"--compression-codec"}, "bare", "gzip");
  produce({"--producer-property", "compression.type=lz4"}, "property", "lz4");
  produce({}, "default", "none");
  // The explicit flag wins over the property, as Kafka's merge does.
  produce({"--producer-property", "compression.type=lz4", "--compression-codec", "zstd"}, "both",
          "zstd");

  std::map<int, StoredPartition> stored = StoredOnEveryReplica("cli", expected_codecs.size());
  for (const auto& [node, s] : stored) {
    EXPECT_EQ(s.error, "") << "node " << node;
    EXPECT_EQ(Join(s.codecs), Join(expected_codecs)) << "node " << node;
    EXPECT_EQ(s.values, expected_values) << "node " << node;
  }
  EXPECT_EQ(ConsoleConsume("cli", static_cast<int>(expected_values.size())), expected_values);

  // An unknown codec is refused before anything is sent.
  CliResult bad = cluster_.Cli({"console-producer", "--bootstrap-server", cluster_.bootstrap(1),
                                "--topic", "cli", "--compression-codec", "brotli"},
                               "never sent\n");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("Invalid value brotli for configuration compression.type: String must "
                         "be one of: none, gzip, snappy, lz4, zstd"),
            std::string::npos)
      << bad.err;

  // producer-perf-test with a payload file and compression.type=zstd.
  CreateTopic("perf", "");
  const std::string payloads = cluster_.dir() + "/payloads.txt";
  {
    std::ofstream f(payloads);
    for (int i = 0; i < 50; ++i) {
      f << "{\"user\": \"u" << i << "\", \"action\": \"click\", \"page\": \"/home\"}\n";
    }
  }
  // --record-size and --payload-file together are refused, as in Kafka.
  CliResult both =
      cluster_.Cli({"producer-perf-test", "--topic", "perf", "--num-records", "10", "--throughput",
                    "-1", "--record-size", "100", "--payload-file", payloads, "--producer-props",
                    "bootstrap.servers=" + cluster_.bootstrap(1)});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("Either --record-size or --payload-file must be specified but not both."),
            std::string::npos)
      << both.err;
  CliResult perf = cluster_.Cli({"producer-perf-test", "--topic", "perf", "--num-records", "2000",
                                 "--throughput", "-1", "--payload-file", payloads,
                                 "--producer-props", "bootstrap.servers=" + cluster_.bootstrap(1),
                                 "compression.type=zstd", "acks=all"});
  ASSERT_EQ(perf.exit_code, 0) << perf.out << perf.err;
  EXPECT_NE(perf.out.find("Number of messages read: 50"), std::string::npos) << perf.out;
  EXPECT_NE(perf.out.find("2000 records sent"), std::string::npos) << perf.out;
  StoredPartition perf_stored = ReadStored(cluster_, 1, "perf", 0);
  Eventually(
      [&] {
        perf_stored = ReadStored(cluster_, 1, "perf", 0);
        return perf_stored.values.size() >= 2000;
      },
      30000);
  ASSERT_EQ(perf_stored.values.size(), 2000u);
  for (const std::string& codec : perf_stored.codecs) EXPECT_EQ(codec, "zstd");
}

// The client library: a Producer per codec into a topic of every
// compression.type (producer, uncompressed and each codec), a Consumer
// reading everything back; the stored codec is the topic's (or, for
// `producer`, the producer's) on every replica.
TEST_F(CompressionTest, EveryCodecRoundTripsThroughTheClientIntoEveryTopicType) {
  const std::vector<std::string> topic_types = {"producer", "uncompressed", "gzip",
                                                "snappy",   "lz4",          "zstd"};
  for (const std::string& type : topic_types) CreateTopic("t-" + type, type);

  // Records in the order each topic gets them, and the codec each batch
  // should be stored with.
  std::map<std::string, std::vector<std::string>> values;
  std::map<std::string, std::vector<std::string>> codecs;
  for (const std::string& codec : kCodecs) {
    std::vector<std::string> ignored;
    absl::StatusOr<client::ProducerConfig> config = client::ProducerConfig::FromProperties(
        {{"bootstrap.servers", cluster_.bootstrap_all()},
         {"compression.type", codec},
         {"acks", "all"},
         {"linger.ms", "60000"}},  // only Flush sends: one batch per topic
        &ignored);
    ASSERT_TRUE(config.ok()) << config.status();
    auto producer = client::Producer::Create(*config);
    ASSERT_TRUE(producer.ok()) << producer.status();
    std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> acks;
    for (const std::string& type : topic_types) {
      const std::string topic = "t-" + type;
      for (int i = 0; i < 30; ++i) {
        client::ProducerRecord r;
        r.topic = topic;
        r.key = "k" + std::to_string(i % 7);
        r.value = "{\"producer\": \"" + codec + "\", \"topic\": \"" + type +
                  "\", \"i\": " + std::to_string(i) + ", \"pad\": \"" + std::string(64, 'z') +
                  "\"}";
        r.headers.push_back({"codec", codec});
        values[topic].push_back(*r.value);
        acks.push_back((*producer)->Send(std::move(r)));
      }
      codecs[topic].push_back(type == "producer" ? codec : type == "uncompressed" ? "none" : type);
    }
    (*producer)->Flush();
    for (auto& f : acks) {
      absl::StatusOr<client::RecordMetadata> md = f.get();
      ASSERT_TRUE(md.ok()) << codec << ": " << md.status();
    }
    (*producer)->Close();
  }

  for (const std::string& type : topic_types) {
    const std::string topic = "t-" + type;
    std::map<int, StoredPartition> stored = StoredOnEveryReplica(topic, codecs[topic].size());
    for (const auto& [node, s] : stored) {
      EXPECT_EQ(s.error, "") << topic << " on node " << node;
      EXPECT_EQ(Join(s.codecs), Join(codecs[topic])) << topic << " on node " << node;
      EXPECT_EQ(s.values, values[topic]) << topic << " on node " << node;
    }

    // The Consumer decompresses whatever was stored.
    client::ConsumerConfig cc;
    cc.bootstrap_servers = cluster_.bootstrap(1);
    cc.auto_offset_reset = client::OffsetReset::kEarliest;
    auto consumer = client::Consumer::Create(cc);
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    (*consumer)->Assign({TopicPartition{topic, PartitionId(0)}});
    std::vector<client::ConsumerRecord> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (got.size() < values[topic].size() && std::chrono::steady_clock::now() < deadline) {
      auto records = (*consumer)->Poll(absl::Milliseconds(500));
      ASSERT_TRUE(records.ok()) << records.status();
      got.insert(got.end(), records->begin(), records->end());
    }
    ASSERT_EQ(got.size(), values[topic].size()) << topic;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].offset, static_cast<int64_t>(i)) << topic;
      EXPECT_EQ(got[i].value, values[topic][i]) << topic;
      EXPECT_EQ(got[i].key, "k" + std::to_string(i % 30 % 7)) << topic;
      ASSERT_EQ(got[i].headers.size(), 1u) << topic;
      EXPECT_EQ(got[i].headers[0].key, "codec");
    }
    // And the CLI prints it too.
    EXPECT_EQ(ConsoleConsume(topic, static_cast<int>(values[topic].size())), values[topic]);
  }
}

// A compressing producer fills batches by their compressed size, so one
// holds many times batch.size of records; a topic that stores batches
// uncompressed, with a small max.message.bytes, refuses it as too large.
// The producer splits it (Kafka's splitAndReenqueue) until the pieces fit:
// every record is acknowledged, in order, and stored uncompressed in
// batches within max.message.bytes on every replica.
TEST_F(CompressionTest, ABatchTooLargeForAnUncompressedTopicIsSplitUntilItFits) {
  CliResult created =
      cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic",
                    "split", "--partitions", "1", "--replication-factor", "3", "--config",
                    "compression.type=uncompressed", "--config", "max.message.bytes=20000"});
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  std::vector<std::string> ignored;
  absl::StatusOr<client::ProducerConfig> config = client::ProducerConfig::FromProperties(
      {{"bootstrap.servers", cluster_.bootstrap_all()},
       {"compression.type", "zstd"},
       {"batch.size", "1048576"},
       {"acks", "all"},
       {"linger.ms", "60000"}},  // only Flush sends: one big batch
      &ignored);
  ASSERT_TRUE(config.ok()) << config.status();
  auto producer = client::Producer::Create(*config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  constexpr int kRecords = 3000;
  std::vector<std::string> values;
  std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> acks;
  for (int i = 0; i < kRecords; ++i) {
    client::ProducerRecord r;
    r.topic = "split";
    r.value = "{\"event\": \"page_view\", \"i\": " + std::to_string(i) + ", \"pad\": \"" +
              std::string(80, 'x') + "\"}";
    values.push_back(*r.value);
    acks.push_back((*producer)->Send(std::move(r)));
  }
  (*producer)->Flush();
  for (int i = 0; i < kRecords; ++i) {
    absl::StatusOr<client::RecordMetadata> md = acks[static_cast<size_t>(i)].get();
    ASSERT_TRUE(md.ok()) << "record " << i << ": " << md.status();
    EXPECT_EQ(md->offset, i);
  }
  (*producer)->Close();

  std::map<int, StoredPartition> stored;
  Eventually(
      [&] {
        for (int node : cluster_.nodes()) stored[node] = ReadStored(cluster_, node, "split", 0);
        for (const auto& [node, s] : stored) {
          if (s.values.size() < values.size() || !s.error.empty()) return false;
        }
        return true;
      },
      30000);
  for (const auto& [node, s] : stored) {
    EXPECT_EQ(s.error, "") << "node " << node;
    EXPECT_EQ(s.values, values) << "node " << node;
    EXPECT_GT(s.codecs.size(), 1u) << "node " << node << ": the batch was split";
    for (size_t b = 0; b < s.codecs.size(); ++b) {
      EXPECT_EQ(s.codecs[b], "none") << "node " << node << " batch " << b;
      EXPECT_LE(s.sizes[b], 20000u) << "node " << node << " batch " << b;
    }
  }
}

}  // namespace
}  // namespace strata::testing
