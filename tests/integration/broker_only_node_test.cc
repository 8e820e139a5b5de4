// A broker-only node (process.roles=broker) on real processes: it joins a
// running three-voter cluster as an observer of the metadata quorum,
// registers and is listed as a broker, shows under CurrentObservers (the
// voters stay [1,2,3]), holds and leads replicas, survives kill -9 and a
// restart resuming from its own metadata log, and catches up from the
// leader's snapshot when the leader compacted its log past it. Every node
// runs on 127.0.0.1 with ports the OS picked; every wait is bounded.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "strata/internal/controller.grpc.pb.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

bool Contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

class BrokerOnlyNodeTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && cluster_) {
      cluster_->KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_->dir().c_str());
    }
  }

  // Starts the three voters, then broker-only node 4, and waits until all
  // four brokers are registered and unfenced.
  void StartClusterWithBrokerOnlyNode(std::vector<std::string> extra = {}) {
    cluster_ = std::make_unique<StrataCluster>(3, std::move(extra));
    cluster_->StartAll();
    ASSERT_TRUE(cluster_->WaitReady(3)) << "voters not ready; logs in " << cluster_->dir();
    ASSERT_EQ(cluster_->AddBrokerOnlyNode(), 4);
    cluster_->Start(4);
    ASSERT_TRUE(cluster_->WaitReady(4, 60000)) << "node 4 not ready; logs in " << cluster_->dir();
  }

  // Creates `name` through the Admin API of `node`, retrying (bounded)
  // while the cluster is settling.
  void CreateTopic(int node, const std::string& name, int partitions, int replication_factor) {
    std::string last;
    const bool created = Eventually(
        [&] {
          v1::CreateTopicsRequest req;
          v1::NewTopic* t = req.add_topics();
          t->set_name(name);
          t->set_num_partitions(partitions);
          t->set_replication_factor(replication_factor);
          v1::CreateTopicsResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
          grpc::Status s = cluster_->admin(node)->CreateTopics(&ctx, req, &resp);
          if (!s.ok()) {
            last = s.error_message();
            return false;
          }
          if (resp.results_size() != 1) return false;
          last = resp.results(0).error_message();
          return resp.results(0).error() == v1::NONE ||
                 resp.results(0).error() == v1::TOPIC_ALREADY_EXISTS;
        },
        30000);
    ASSERT_TRUE(created) << "creating " << name << ": " << last;
  }

  void DeleteTopic(int node, const std::string& name) {
    v1::DeleteTopicsRequest req;
    req.add_names(name);
    v1::DeleteTopicsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    grpc::Status s = cluster_->admin(node)->DeleteTopics(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.results_size(), 1);
    ASSERT_EQ(resp.results(0).error(), v1::NONE) << resp.results(0).error_message();
  }

  std::vector<std::string> ListTopics(int node) {
    v1::ListTopicsRequest req;
    v1::ListTopicsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (!cluster_->admin(node)->ListTopics(&ctx, req, &resp).ok()) return {};
    return {resp.names().begin(), resp.names().end()};
  }

  // Produces `values` to `topic`-`partition` through its leader as `node`
  // sees it, retrying (bounded) while leadership settles.
  void Produce(const std::string& topic, int partition, const std::vector<std::string>& values,
               int acks, int node = 1) {
    std::string last;
    const bool produced = Eventually(
        [&] {
          const int leader = LeaderOf(topic, partition, node);
          if (leader < 0) return false;
          v1::ProduceRequest req;
          req.set_acks(acks);
          req.set_timeout_ms(10000);
          v1::TopicProduceData* t = req.add_topics();
          t->set_topic(topic);
          v1::PartitionProduceData* p = t->add_partitions();
          p->set_partition(partition);
          for (const std::string& v : values) p->add_plain_records()->set_value(v);
          v1::ProduceResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
          grpc::Status s = cluster_->broker(leader)->Produce(&ctx, req, &resp);
          if (!s.ok()) {
            last = s.error_message();
            return false;
          }
          if (resp.topics_size() != 1 || resp.topics(0).partitions_size() != 1) return false;
          last = resp.topics(0).partitions(0).error_message();
          return resp.topics(0).partitions(0).error() == v1::NONE;
        },
        30000);
    ASSERT_TRUE(produced) << "producing to " << topic << "-" << partition << ": " << last;
  }

  int LeaderOf(const std::string& topic, int partition, int node = 1) {
    auto d = cluster_->Describe(topic, node);
    auto it = d.find(partition);
    return it == d.end() ? -1 : it->second.leader;
  }

  // `strata metadata-quorum --bootstrap-server <node> describe --<what>`.
  CliResult Quorum(int node, const std::string& what) {
    return cluster_->Cli(
        {"metadata-quorum", "--bootstrap-server", cluster_->bootstrap(node), "describe", what});
  }

  // How often `needle` occurs in `node`'s log (every start appends to it).
  int CountInLog(int node, const std::string& needle) {
    std::ifstream in(cluster_->log_path(node));
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    int count = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++count;
    }
    return count;
  }

  // The bytes of `topic`-`partition`'s segments on `node`'s disk.
  uintmax_t SegmentBytes(int node, const std::string& topic, int partition) {
    const std::filesystem::path dir = cluster_->partition_dir(node, topic, partition);
    uintmax_t bytes = 0;
    // The broker may roll, rename or delete files as we look: a directory
    // or file gone between the listing and its size counts as gone.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() != ".log") continue;
      std::error_code size_ec;
      const uintmax_t size = e.file_size(size_ec);
      if (!size_ec) bytes += size;
    }
    return bytes;
  }

  std::unique_ptr<StrataCluster> cluster_;
};

TEST_F(BrokerOnlyNodeTest, JoinsAsAnObserverHoldsAndLeadsReplicasAndSurvivesKillNine) {
  StartClusterWithBrokerOnlyNode();

  // Listed as a broker, by a voter and by itself.
  for (int node : {1, 4}) {
    CliResult r =
        cluster_->Cli({"brokers", "--bootstrap-server", cluster_->bootstrap(node), "--list"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "1\n2\n3\n4\n") << "asked of node " << node;
  }

  // An observer of the quorum, never a voter; node 4 forwards the question
  // to the leader, as a follower voter does.
  for (int node : {1, 2, 3, 4}) {
    CliResult r;
    ASSERT_TRUE(Eventually(
        [&] {
          r = Quorum(node, "--status");
          return r.exit_code == 0 && Contains(Lines(r.out), "CurrentObservers:       [4]");
        },
        15000))
        << "asked of node " << node << ": " << r.out << r.err;
    EXPECT_TRUE(Contains(Lines(r.out), "CurrentVoters:          [1,2,3]")) << r.out;
  }
  {
    CliResult r = Quorum(4, "--replication");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // NodeId LogEndOffset Lag LastFetchTimestamp LastCaughtUpTimestamp Status
    static const std::regex kObserverRow(
        "4 *\t([0-9]+) *\t([0-9]+) *\t([0-9]+) *\t(-?[0-9]+) *\tObserver *\t?");
    int observer_rows = 0;
    int voter_rows = 0;
    for (const std::string& line : Lines(r.out)) {
      std::smatch m;
      if (std::regex_match(line, m, kObserverRow)) {
        ++observer_rows;
        EXPECT_GT(std::stoll(m[1]), 0) << line;     // it has fetched the log
        EXPECT_LT(std::stoll(m[2]), 1000) << line;  // and keeps up
        EXPECT_GT(std::stoll(m[3]), 0) << line;     // a fetch time
      } else if (line.find("Leader") != std::string::npos ||
                 line.find("Follower") != std::string::npos) {
        ++voter_rows;
      }
    }
    EXPECT_EQ(observer_rows, 1) << r.out;
    EXPECT_EQ(voter_rows, 3) << r.out;
  }

  // Its CONTROLLER listener answers controller calls NOT_CONTROLLER, naming
  // the controller, as a voter that does not lead does.
  {
    auto controller = internal::Controller::NewStub(TestChannel(cluster_->peer_address(4)));
    internal::BrokerHeartbeatRequest req;
    req.set_broker_id(4);
    internal::BrokerHeartbeatResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status s = controller->BrokerHeartbeat(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.error(), v1::NOT_CONTROLLER) << resp.error_message();
    EXPECT_EQ(resp.controller_hint(), cluster_->ControllerSeenBy(1));
    EXPECT_GT(resp.controller_hint(), 0);
  }

  // A topic over all four brokers: node 4 holds a replica of every
  // partition and catches up into every ISR.
  CreateTopic(1, "spread", 4, 4);
  ASSERT_TRUE(Eventually(
      [&] {
        auto d = cluster_->Describe("spread", 1);
        if (d.size() != 4) return false;
        for (const auto& [p, line] : d) {
          if (line.isr.size() != 4) return false;
        }
        return true;
      },
      30000))
      << "node 4 did not join every ISR";
  // It leads the partition it is the preferred leader of.
  int led_by_4 = -1;
  for (const auto& [p, line] : cluster_->Describe("spread", 1)) {
    if (line.replicas.starts_with("4,")) led_by_4 = p;
  }
  ASSERT_GE(led_by_4, 0) << "no partition prefers node 4";
  ASSERT_TRUE(Eventually([&] { return LeaderOf("spread", led_by_4) == 4; }, 30000));

  // acks=all to every partition: node 4 has every record on its disk.
  for (int p = 0; p < 4; ++p) {
    std::vector<std::string> values;
    for (int i = 0; i < 10; ++i)
      values.push_back("p" + std::to_string(p) + "-" + std::to_string(i));
    Produce("spread", p, values, -1);
  }
  for (int p = 0; p < 4; ++p) EXPECT_GT(SegmentBytes(4, "spread", p), 0u) << "partition " << p;
  CliResult r = cluster_->Cli({"console-consumer", "--bootstrap-server", cluster_->bootstrap(4),
                               "--topic", "spread", "--from-beginning", "--max-messages", "40",
                               "--timeout-ms", "30000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 40u) << r.out;

  // kill -9: its partition moves to another in-sync replica...
  const int64_t old_epoch = cluster_->BrokerEpochSeenBy(1, 4);
  ASSERT_GT(old_epoch, 0);
  cluster_->Kill(4);
  ASSERT_TRUE(Eventually(
      [&] {
        const int leader = LeaderOf("spread", led_by_4);
        return leader > 0 && leader != 4;
      },
      30000))
      << "leadership did not move off the killed node 4";
  Produce("spread", led_by_4, {"while-away-1", "while-away-2"}, 1);

  // ...and it comes back from its own metadata log, with no snapshot needed.
  cluster_->Start(4);
  ASSERT_TRUE(cluster_->WaitReregistered(1, 4, old_epoch, 60000));
  EXPECT_EQ(CountInLog(4, "Metadata observer 4 resuming at index"), 2);
  EXPECT_EQ(CountInLog(4, "Metadata observer 4 resuming at index 0 "), 1);
  EXPECT_EQ(CountInLog(4, "restored a snapshot"), 0);
  ASSERT_TRUE(Eventually(
      [&] {
        auto d = cluster_->Describe("spread", 1);
        return d.size() == 4 && d[led_by_4].isr.size() == 4;
      },
      60000))
      << "node 4 did not catch up after its restart";

  // A preferred election asked of node 4 (forwarded to the controller) makes
  // it the leader again, and it serves what was written while it was away.
  ASSERT_TRUE(Eventually(
      [&] {
        v1::ElectLeadersRequest req;
        req.set_election_type(v1::PREFERRED);
        v1::ElectLeadersPartitions* tp = req.add_topic_partitions();
        tp->set_topic("spread");
        tp->add_partitions(led_by_4);
        v1::ElectLeadersResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        cluster_->admin(4)->ElectLeaders(&ctx, req, &resp);
        return LeaderOf("spread", led_by_4) == 4;
      },
      30000));
  r = cluster_->Cli({"console-consumer", "--bootstrap-server", cluster_->bootstrap(4), "--topic",
                     "spread", "--from-beginning", "--max-messages", "42", "--timeout-ms",
                     "30000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> consumed = Lines(r.out);
  EXPECT_EQ(consumed.size(), 42u) << r.out;
  EXPECT_TRUE(Contains(consumed, "while-away-2")) << r.out;

  // The voters never changed.
  r = Quorum(1, "--status");
  EXPECT_TRUE(Contains(Lines(r.out), "CurrentVoters:          [1,2,3]")) << r.out;
}

TEST_F(BrokerOnlyNodeTest, CatchesUpFromTheLeadersSnapshotWhenTheLogWasCompactedPastIt) {
  // Voters (and node 4) snapshot every 20 entries and keep 5 behind it.
  StartClusterWithBrokerOnlyNode(
      {"strata.raft.snapshot.entries=20", "strata.raft.snapshot.keep.entries=5"});
  CreateTopic(1, "before", 1, 1);
  ASSERT_TRUE(Eventually([&] { return Contains(ListTopics(4), "before"); }, 15000));
  const int64_t old_epoch = cluster_->BrokerEpochSeenBy(1, 4);
  ASSERT_GT(old_epoch, 0);

  // While node 4 is down, 40-odd metadata entries: the leader snapshots and
  // compacts its log well past where node 4 stopped.
  cluster_->Terminate(4);
  for (int i = 0; i < 20; ++i) {
    const std::string name = "churn-" + std::to_string(i);
    CreateTopic(1, name, 1, 1);
    DeleteTopic(1, name);
  }
  CreateTopic(1, "after", 1, 1);
  EXPECT_EQ(CountInLog(4, "restored a snapshot"), 0);

  cluster_->Start(4);
  ASSERT_TRUE(Eventually([&] { return CountInLog(4, "restored a snapshot at index") == 1; }, 30000))
      << "node 4 did not fetch the leader's snapshot";
  // It sees the metadata written while it was away.
  ASSERT_TRUE(Eventually(
      [&] {
        std::vector<std::string> topics = ListTopics(4);
        return Contains(topics, "before") && Contains(topics, "after") &&
               std::none_of(topics.begin(), topics.end(),
                            [](const std::string& t) { return t.starts_with("churn-"); });
      },
      30000));
  ASSERT_TRUE(cluster_->WaitReregistered(1, 4, old_epoch, 60000));
  CliResult r = Quorum(4, "--status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(Lines(r.out), "CurrentObservers:       [4]")) << r.out;
  EXPECT_TRUE(Contains(Lines(r.out), "CurrentVoters:          [1,2,3]")) << r.out;

  // From then on it follows by entries again: a new topic reaches it
  // without another snapshot.
  CreateTopic(1, "later", 1, 1);
  ASSERT_TRUE(Eventually([&] { return Contains(ListTopics(4), "later"); }, 15000));
  EXPECT_EQ(CountInLog(4, "restored a snapshot at index"), 1);
}

}  // namespace
}  // namespace strata::testing
