// Issue 4's acceptance on real processes: the seed session through the
// `strata` CLI, replica assignment, bad input, controller failover, and a
// full stop and start. Every node runs on 127.0.0.1 with ports no other test holds
// (tests/common/free_port.h).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "client/producer.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ClusterTest : public ::testing::Test {
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

  CliResult Topics(const std::vector<std::string>& args, int node = 1) {
    std::vector<std::string> full = {"topics", "--bootstrap-server", cluster_.bootstrap(node)};
    full.insert(full.end(), args.begin(), args.end());
    return cluster_.Cli(full);
  }

  // One produce of `records` through the Broker API, as a client would.
  v1::PartitionProduceResponse ProduceRaw(int node, const std::string& topic, int partition,
                                          std::vector<std::string> values, int acks = 1) {
    record::RecordBatchBuilder builder;
    for (std::string& v : values) {
      record::Record r;
      r.value = std::move(v);
      r.timestamp = 1;
      builder.Append(r);
    }
    v1::ProduceRequest req;
    req.set_acks(acks);
    auto* t = req.add_topics();
    t->set_topic(topic);
    auto* p = t->add_partitions();
    p->set_partition(partition);
    p->set_records(builder.Build());
    v1::ProduceResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = cluster_.broker(node)->Produce(&ctx, req, &resp);
    if (!status.ok() || !resp.topics_size() || !resp.topics(0).partitions_size()) {
      // The node did not answer (it may be starting): what a client sees as
      // a network error.
      v1::PartitionProduceResponse failed;
      failed.set_error(v1::NETWORK_EXCEPTION);
      failed.set_error_message(status.error_message());
      return failed;
    }
    return resp.topics(0).partitions(0);
  }

  std::map<int, PartitionLine> Describe(const std::string& topic, int node) {
    return cluster_.Describe(topic, node);
  }

  int LeaderOf(const std::string& topic, int partition, int node = 1) {
    auto d = Describe(topic, node);
    auto it = d.find(partition);
    return it == d.end() ? -1 : it->second.leader;
  }

  // As a client does: retries while the error says metadata has not reached
  // the broker yet (bounded to 10 s).
  v1::PartitionProduceResponse ProduceSettled(int node, const std::string& topic, int partition,
                                              std::vector<std::string> values, int acks = 1) {
    v1::PartitionProduceResponse r;
    for (int attempt = 0; attempt < 100; ++attempt) {
      r = ProduceRaw(node, topic, partition, values, acks);
      if (r.error() != v1::UNKNOWN_TOPIC_OR_PARTITION && r.error() != v1::NOT_LEADER_OR_FOLLOWER &&
          r.error() != v1::LEADER_NOT_AVAILABLE && r.error() != v1::NETWORK_EXCEPTION) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return r;
  }

  // Short enough to see preferred leaders come back within a test.
  StrataCluster cluster_{3, {"leader.imbalance.check.interval.seconds=1"}};
};

TEST_F(ClusterTest, SeedSessionWorksAsWritten) {
  CliResult r =
      Topics({"--create", "--topic", "myTopic", "--partitions", "1", "--replication-factor", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Created topic myTopic.\n");

  r = Topics({"--list"}, 2);  // any node answers
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "myTopic\n");

  r = Topics({"--describe", "--topic", "myTopic"}, 3);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_TRUE(std::regex_match(lines[0], std::regex("Topic: myTopic\tTopicId: [A-Za-z0-9_-]{22}\t"
                                                    "PartitionCount: 1\tReplicationFactor: 1\t"
                                                    "Configs: .*")))
      << lines[0];
  EXPECT_TRUE(
      std::regex_match(lines[1], std::regex("\tTopic: myTopic\tPartition: 0\tLeader: [123]\t"
                                            "Replicas: [123]\tIsr: [123]")))
      << lines[1];

  r = cluster_.Cli(
      {"console-producer", "--bootstrap-server", cluster_.bootstrap(1), "--topic", "myTopic"},
      "This is my first event\nThis is my second event\nThis is my third event\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = cluster_.Cli({"console-consumer", "--bootstrap-server", cluster_.bootstrap(2), "--topic",
                    "myTopic", "--from-beginning", "--max-messages", "3", "--timeout-ms", "20000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "This is my first event\nThis is my second event\nThis is my third event\n");

  r = Topics({"--alter", "--topic", "myTopic", "--partitions", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Topics({"--describe", "--topic", "myTopic"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_NE(lines[0].find("PartitionCount: 2"), std::string::npos) << lines[0];
  EXPECT_NE(lines[2].find("\tPartition: 1\t"), std::string::npos) << lines[2];
}

TEST_F(ClusterTest, ReplicationFactorThreeSpreadsReplicasAndLeaders) {
  CliResult r =
      Topics({"--create", "--topic", "topic01", "--partitions", "3", "--replication-factor", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Topics({"--describe", "--topic", "topic01"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_NE(lines[0].find("PartitionCount: 3\tReplicationFactor: 3"), std::string::npos)
      << lines[0];
  std::set<std::string> leaders;
  std::regex shape(
      "\tTopic: topic01\tPartition: [012]\tLeader: ([123])\tReplicas: "
      "([123]),([123]),([123])\tIsr: .*");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[i], m, shape)) << lines[i];
    leaders.insert(m[1]);
    EXPECT_EQ(std::set<std::string>({m[2], m[3], m[4]}).size(), 3u) << lines[i];
  }
  EXPECT_EQ(leaders, (std::set<std::string>{"1", "2", "3"})) << r.out;
}

TEST_F(ClusterTest, BadInputIsRefusedClearlyAndChangesNothing) {
  ASSERT_EQ(Topics({"--create", "--topic", "t1", "--partitions", "2", "--replication-factor", "1",
                    "--config", "max.message.bytes=1000"})
                .exit_code,
            0);
  const std::string before = Topics({"--describe"}).out;

  CliResult r =
      Topics({"--create", "--topic", "t2", "--partitions", "1", "--replication-factor", "4"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Replication factor: 4 larger than available brokers: 3"), std::string::npos)
      << r.err;

  r = Topics(
      {"--create", "--topic", "bad name!", "--partitions", "1", "--replication-factor", "1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());

  r = Topics({"--create", "--topic", "t1", "--partitions", "1", "--replication-factor", "1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;

  r = Topics({"--alter", "--topic", "t1", "--partitions", "1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Topic currently has 2 partitions, which is higher than the requested 1."),
            std::string::npos)
      << r.err;

  r = Topics({"--describe", "--topic", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;

  // Produce to a partition that does not exist, and a batch too large.
  for (int node = 1; node <= 3; ++node) {
    v1::PartitionProduceResponse p = ProduceRaw(node, "t1", 7, {"x"});
    EXPECT_EQ(p.error(), v1::UNKNOWN_TOPIC_OR_PARTITION) << p.error_message();
  }
  // The leader of t1-0, from the metadata any node gives.
  grpc::ClientContext ctx;
  v1::MetadataRequest mreq;
  mreq.add_topics("t1");
  v1::MetadataResponse meta;
  ASSERT_TRUE(cluster_.broker(1)->Metadata(&ctx, mreq, &meta).ok());
  const int leader = meta.topics(0).partitions(0).leader();
  ASSERT_GE(leader, 1);
  v1::PartitionProduceResponse big = ProduceSettled(leader, "t1", 0, {std::string(2000, 'x')});
  EXPECT_EQ(big.error(), v1::MESSAGE_TOO_LARGE) << big.error_message();
  EXPECT_NE(big.error_message().find("max.message.bytes"), std::string::npos)
      << big.error_message();
  v1::PartitionProduceResponse ok = ProduceSettled(leader, "t1", 0, {"small"});
  EXPECT_EQ(ok.error(), v1::NONE) << ok.error_message();
  EXPECT_EQ(ok.base_offset(), 0) << "the refused batch must not have taken an offset";

  EXPECT_EQ(Topics({"--describe"}).out, before);
  EXPECT_EQ(Topics({"--list"}).out, "t1\n");

  // acks=all below min.insync.replicas is refused and names the partition;
  // acks=1 still succeeds.
  ASSERT_EQ(Topics({"--create", "--topic", "strict", "--partitions", "1", "--replication-factor",
                    "1", "--config", "min.insync.replicas=2"})
                .exit_code,
            0);
  grpc::ClientContext ctx2;
  v1::MetadataRequest mreq2;
  mreq2.add_topics("strict");
  v1::MetadataResponse meta2;
  ASSERT_TRUE(cluster_.broker(1)->Metadata(&ctx2, mreq2, &meta2).ok());
  const int strict_leader = meta2.topics(0).partitions(0).leader();
  v1::PartitionProduceResponse all = ProduceSettled(strict_leader, "strict", 0, {"x"}, -1);
  EXPECT_EQ(all.error(), v1::NOT_ENOUGH_REPLICAS) << all.error_message();
  EXPECT_NE(all.error_message().find("strict-0"), std::string::npos) << all.error_message();
  EXPECT_EQ(ProduceSettled(strict_leader, "strict", 0, {"x"}, 1).error(), v1::NONE);
}

// A second server given a port that a running node already listens on
// refuses to start and names the port, instead of sharing it (gRPC's default
// SO_REUSEPORT would let it take half of the first node's connections).
TEST_F(ClusterTest, AServerGivenATakenPortRefusesToStartAndNamesIt) {
  std::ifstream in(cluster_.dir() + "/node1.properties");
  std::ofstream out(cluster_.dir() + "/twin.properties");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("log.dirs=")) line = "log.dirs=" + cluster_.dir() + "/twin/logs";
    if (line.starts_with("metadata.log.dir=")) {
      line = "metadata.log.dir=" + cluster_.dir() + "/twin/metadata";
    }
    out << line << "\n";
  }
  out.close();
  ChildProcess twin;
  const std::string log = cluster_.dir() + "/twin.log";
  ASSERT_TRUE(twin.Start({STRATA_SERVER, cluster_.dir() + "/twin.properties"}, log));
  EXPECT_EQ(twin.WaitExit(20000), 1);
  std::ifstream twin_log(log);
  const std::string printed((std::istreambuf_iterator<char>(twin_log)),
                            std::istreambuf_iterator<char>());
  EXPECT_NE(printed.find("cannot listen on CONTROLLER " + cluster_.peer_address(1)),
            std::string::npos)
      << printed;
  // The first node still has its port and its clients.
  EXPECT_TRUE(cluster_.WaitReady(3));
  EXPECT_EQ(Topics({"--create", "--topic", "after-twin", "--partitions", "3",
                    "--replication-factor", "3"})
                .exit_code,
            0);
}

TEST_F(ClusterTest, ControllerFailoverAndCatchUp) {
  ASSERT_EQ(
      Topics({"--create", "--topic", "states", "--partitions", "3", "--replication-factor", "1"})
          .exit_code,
      0);
  const int controller = cluster_.ControllerSeenBy(1);
  ASSERT_GE(controller, 1);
  cluster_.Kill(controller);
  const auto killed_at = Clock::now();
  const int survivor = controller == 1 ? 2 : 1;
  int next = -1;
  while (Clock::now() - killed_at < std::chrono::seconds(10)) {
    next = cluster_.ControllerSeenBy(survivor);
    if (next >= 1 && next != controller) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto elected_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at).count();
  ASSERT_TRUE(next >= 1 && next != controller) << "no new controller";
  // The figure is printed, not asserted: how fast depends on the machine's
  // load (a timed assertion would only be flaky).
  std::printf("controller %d killed; node %d is controller after %lld ms\n", controller, next,
              static_cast<long long>(elected_ms));

  CliResult r = Topics(
      {"--create", "--topic", "after-failover", "--partitions", "2", "--replication-factor", "2"},
      survivor);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The dead broker's partition goes offline once its session expires, and
  // the CLI shows it (Kafka's filter, and Strata's states column).
  const std::string dead_replica = "Replicas: " + std::to_string(controller) + "\t";
  CliResult unavailable;
  for (int i = 0; i < 100; ++i) {
    unavailable = Topics({"--describe", "--topic", "states", "--unavailable-partitions"}, survivor);
    if (unavailable.out.find(dead_replica) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Lines(unavailable.out).size(), 1u) << unavailable.out;
  EXPECT_NE(unavailable.out.find("Leader: none"), std::string::npos) << unavailable.out;
  r = Topics({"--describe", "--topic", "states", "--show-states"}, survivor);
  EXPECT_NE(r.out.find("State: Offline\tReplicaStates: " + std::to_string(controller) + ":Offline"),
            std::string::npos)
      << r.out;

  cluster_.Start(controller);
  bool seen = false;
  const auto restarted_at = Clock::now();
  while (!seen && Clock::now() - restarted_at < std::chrono::seconds(20)) {
    r = Topics({"--describe", "--topic", "after-failover"}, controller);
    seen = r.exit_code == 0 && r.out.find("PartitionCount: 2") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen) << "restarted node did not learn the new topic: " << r.out << r.err;
  // Its partition comes back online.
  for (int i = 0; i < 100; ++i) {
    unavailable = Topics({"--describe", "--topic", "states", "--unavailable-partitions"}, survivor);
    if (unavailable.exit_code == 0 && unavailable.out.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(unavailable.out, "");
}

TEST_F(ClusterTest, FailoverShrinksTheIsrAndARestartedBrokerRejoinsIt) {
  // The seed's shapes: topic02 (3 partitions, RF 2) and topic01 (RF 3).
  ASSERT_EQ(
      Topics({"--create", "--topic", "topic01", "--partitions", "3", "--replication-factor", "3"})
          .exit_code,
      0);
  ASSERT_EQ(
      Topics({"--create", "--topic", "topic02", "--partitions", "3", "--replication-factor", "2"})
          .exit_code,
      0);
  std::map<std::string, std::map<int, PartitionLine>> before;
  for (const char* t : {"topic01", "topic02"}) {
    before[t] = Describe(t, 1);
    ASSERT_EQ(before[t].size(), 3u) << t;
    for (const auto& [pid, p] : before[t]) {
      // Every replica of a new partition is in sync; the first leads.
      EXPECT_EQ(p.leader, std::stoi(p.replicas.substr(0, p.replicas.find(',')))) << t << pid;
      EXPECT_EQ(p.isr.size(),
                static_cast<size_t>(std::count(p.replicas.begin(), p.replicas.end(), ',') + 1))
          << t << "-" << pid;
    }
  }
  // Replicated records, so the ISR means something.
  for (int pid = 0; pid < 3; ++pid) {
    ASSERT_EQ(ProduceSettled(before["topic01"][pid].leader, "topic01", pid, {"a", "b"}, -1).error(),
              v1::NONE);
  }

  cluster_.Kill(2);
  const auto killed = std::chrono::steady_clock::now();
  // broker.session.timeout.ms (3 s) + 2 s.
  const bool moved = Eventually(
      [&] {
        for (const char* t : {"topic01", "topic02"}) {
          auto d = Describe(t, 1);
          if (d.size() != 3) return false;
          for (const auto& [pid, p] : d) {
            if (p.leader < 0 || p.leader == 2) return false;
            if (std::find(p.isr.begin(), p.isr.end(), 2) != p.isr.end()) return false;
          }
        }
        return true;
      },
      5000);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed);
  ASSERT_TRUE(moved) << Topics({"--describe"}).out;
  std::fprintf(stderr, "every partition led by a live broker, 2 out of every ISR, after %lld ms\n",
               static_cast<long long>(took.count()));
  // Still writable with acks=all (min.insync.replicas 1).
  for (int pid = 0; pid < 3; ++pid) {
    EXPECT_EQ(ProduceSettled(LeaderOf("topic01", pid), "topic01", pid, {"c"}, -1).error(),
              v1::NONE);
  }

  cluster_.Start(2);
  const bool back = Eventually(
      [&] {
        for (const char* t : {"topic01", "topic02"}) {
          auto d = Describe(t, 1);
          for (const auto& [pid, p] : before[t]) {
            const PartitionLine& now = d[pid];
            // Caught up and back in the ISR; the preferred replica leads again.
            if (now.isr.size() != p.isr.size() || now.leader != p.leader) return false;
          }
        }
        return true;
      },
      30000);
  EXPECT_TRUE(back) << Topics({"--describe"}).out;
  // Nothing left for an explicit preferred election to do.
  CliResult r = cluster_.Cli({"leader-election", "--bootstrap-server", cluster_.bootstrap(3),
                              "--election-type", "PREFERRED", "--all-topic-partitions"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Valid replica already elected for partitions"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Successfully completed"), std::string::npos) << r.out;
}

TEST_F(ClusterTest, AcksAllNeedsMinInsyncReplicasInTheIsr) {
  ASSERT_EQ(Topics({"--create", "--topic", "strict3", "--partitions", "1", "--replication-factor",
                    "3", "--config", "min.insync.replicas=3"})
                .exit_code,
            0);
  ASSERT_EQ(Topics({"--create", "--topic", "strict2", "--partitions", "1", "--replication-factor",
                    "3", "--config", "min.insync.replicas=2"})
                .exit_code,
            0);
  // The broker to stop: neither partition's leader, nor the controller.
  int down = -1;
  for (int b = 1; b <= 3 && down < 0; ++b) {
    if (b != LeaderOf("strict3", 0) && b != LeaderOf("strict2", 0) &&
        b != cluster_.ControllerSeenBy(1)) {
      down = b;
    }
  }
  if (down < 0) down = LeaderOf("strict3", 0) % 3 + 1;
  ASSERT_EQ(ProduceSettled(LeaderOf("strict3", 0), "strict3", 0, {"before"}, -1).error(), v1::NONE);
  cluster_.Kill(down);
  const int alive = down % 3 + 1;
  ASSERT_TRUE(Eventually(
      [&] {
        auto d = Describe("strict3", alive);
        return d.size() == 1 && d[0].leader > 0 && d[0].isr.size() == 2;
      },
      10000))
      << Topics({"--describe"}, alive).out;
  // Kafka's describe filters see it too.
  CliResult under = Topics({"--describe", "--under-min-isr-partitions"}, alive);
  EXPECT_NE(under.out.find("Topic: strict3\tPartition: 0"), std::string::npos) << under.out;
  EXPECT_EQ(under.out.find("strict2"), std::string::npos) << under.out;
  const int leader3 = LeaderOf("strict3", 0, alive);
  v1::PartitionProduceResponse r = ProduceSettled(leader3, "strict3", 0, {"x"}, -1);
  EXPECT_EQ(r.error(), v1::NOT_ENOUGH_REPLICAS) << r.error_message();
  EXPECT_NE(r.error_message().find("strict3-0"), std::string::npos) << r.error_message();
  EXPECT_EQ(ProduceSettled(leader3, "strict3", 0, {"y"}, 1).error(), v1::NONE);
  ASSERT_TRUE(Eventually([&] { return Describe("strict2", alive)[0].isr.size() == 2; }, 10000));
  EXPECT_EQ(ProduceSettled(LeaderOf("strict2", 0, alive), "strict2", 0, {"z"}, -1).error(),
            v1::NONE);

  cluster_.Start(down);
  ASSERT_TRUE(Eventually([&] { return Describe("strict3", alive)[0].isr.size() == 3; }, 30000))
      << Topics({"--describe"}, alive).out;
  r = ProduceSettled(LeaderOf("strict3", 0, alive), "strict3", 0, {"after"}, -1);
  EXPECT_EQ(r.error(), v1::NONE) << r.error_message();
}

TEST_F(ClusterTest, ADivergentOldLeaderTruncatesToTheNewLeader) {
  ASSERT_EQ(Topics({"--create", "--topic", "div", "--partitions", "1", "--replication-factor", "3"})
                .exit_code,
            0);
  const int old_leader = LeaderOf("div", 0);
  ASSERT_GE(old_leader, 1);
  ASSERT_EQ(ProduceSettled(old_leader, "div", 0, {"c0", "c1", "c2", "c3", "c4"}, -1).error(),
            v1::NONE);
  // The followers freeze; the leader takes records they never get.
  std::vector<int> followers;
  for (int b = 1; b <= 3; ++b) {
    if (b != old_leader) followers.push_back(b);
  }
  for (int b : followers) cluster_.Pause(b);
  // A fetch they sent before freezing waits at the leader for up to
  // replica.fetch.wait.max.ms (500 ms); let it come back empty first, or it
  // would carry the records below to them after all.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  v1::PartitionProduceResponse lost = ProduceRaw(old_leader, "div", 0, {"lost0", "lost1"}, 1);
  cluster_.Kill(old_leader);
  for (int b : followers) cluster_.Resume(b);
  ASSERT_EQ(lost.error(), v1::NONE) << lost.error_message();
  ASSERT_EQ(lost.base_offset(), 5);

  // A follower takes over (from the ISR) and takes new records.
  int new_leader = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        new_leader = LeaderOf("div", 0, followers[0]);
        return new_leader > 0 && new_leader != old_leader;
      },
      15000))
      << Topics({"--describe"}, followers[0]).out;
  v1::PartitionProduceResponse next =
      ProduceSettled(new_leader, "div", 0, {"n5", "n6", "n7", "n8"}, -1);
  ASSERT_EQ(next.error(), v1::NONE) << next.error_message();
  EXPECT_EQ(next.base_offset(), 5) << "the old leader's unreplicated records were never committed";

  // The old leader returns as a follower and rejoins the ISR.
  cluster_.Start(old_leader);
  ASSERT_TRUE(Eventually([&] { return Describe("div", new_leader)[0].isr.size() == 3; }, 30000))
      << Topics({"--describe"}, new_leader).out;
  // Stop cleanly (leaders move, logs close) and compare the logs' bytes.
  for (int b = 1; b <= 3; ++b) cluster_.Terminate(b);
  auto segments = [&](int node) {
    std::map<std::string, std::string> files;
    const std::string dir = cluster_.dir() + "/node" + std::to_string(node) + "/logs/div-0";
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".log") continue;
      std::ifstream in(e.path(), std::ios::binary);
      files[e.path().filename()] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return files;
  };
  const auto old_files = segments(old_leader);
  const auto new_files = segments(new_leader);
  ASSERT_FALSE(new_files.empty());
  EXPECT_TRUE(old_files == new_files) << "the old leader's log differs from the new leader's";
  for (const auto& [name, bytes] : old_files) {
    EXPECT_EQ(bytes.find("lost"), std::string::npos) << "the unreplicated suffix is still there";
    EXPECT_NE(bytes.find("n8"), std::string::npos);
  }
}

TEST_F(ClusterTest, ControlledShutdownMovesLeadershipWithoutFailedSends) {
  ASSERT_EQ(
      Topics({"--create", "--topic", "calm", "--partitions", "6", "--replication-factor", "3"})
          .exit_code,
      0);
  client::ProducerConfig pc;
  pc.bootstrap_servers = cluster_.bootstrap_all();
  pc.acks = -1;
  auto producer = client::Producer::Create(pc);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::atomic<int> acked{0};
  std::atomic<int> failed{0};
  std::atomic<bool> stop{false};
  std::string first_error;
  std::mutex error_mu;
  int sent = 0;
  std::thread sender([&] {
    for (; !stop.load(); ++sent) {
      client::ProducerRecord r;
      r.topic = "calm";
      r.value = std::to_string(sent);
      (*producer)->Send(std::move(r), [&](const absl::StatusOr<client::RecordMetadata>& md) {
        if (md.ok()) {
          ++acked;
          return;
        }
        std::lock_guard<std::mutex> l(error_mu);
        if (failed++ == 0) first_error = std::string(md.status().message());
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const int leader = LeaderOf("calm", 0);
  ASSERT_GE(leader, 1);
  const int other = leader % 3 + 1;
  const auto t0 = std::chrono::steady_clock::now();
  cluster_.Terminate(leader);  // SIGTERM; waits for the process to exit
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  // The controller moved leadership before the broker went.
  for (const auto& [pid, p] : Describe("calm", other)) {
    EXPECT_NE(p.leader, leader) << "partition " << pid << " still led by the stopped broker";
    EXPECT_GE(p.leader, 1) << "partition " << pid;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop = true;
  sender.join();
  (*producer)->Flush();
  (*producer)->Close();
  std::fprintf(stderr, "controlled shutdown of broker %d took %lld ms; %d sent, %d acked\n", leader,
               static_cast<long long>(took.count()), sent, acked.load());
  EXPECT_LT(took.count(), 10000);
  EXPECT_EQ(failed.load(), 0) << first_error;
  EXPECT_EQ(acked.load(), sent);
  EXPECT_EQ(Topics({"--describe", "--topic", "calm", "--unavailable-partitions"}, other).out, "");
}

TEST_F(ClusterTest, PlainRecordsInAndDecodedRecordsOut) {
  // What a client without a v2 batch encoder (grpcurl, another language)
  // does: produce plain records, fetch them decoded.
  ASSERT_EQ(
      Topics({"--create", "--topic", "plain", "--partitions", "1", "--replication-factor", "1"})
          .exit_code,
      0);
  grpc::ClientContext mctx;
  v1::MetadataRequest mreq;
  mreq.add_topics("plain");
  v1::MetadataResponse meta;
  ASSERT_TRUE(cluster_.broker(1)->Metadata(&mctx, mreq, &meta).ok());
  const int leader = meta.topics(0).partitions(0).leader();
  ASSERT_GE(leader, 1);

  v1::ProduceRequest req;
  req.set_acks(1);
  v1::PartitionProduceData* p = req.add_topics()->add_partitions();
  req.mutable_topics(0)->set_topic("plain");
  p->set_partition(0);
  v1::Record* keyed = p->add_plain_records();
  keyed->set_key("k1");
  keyed->set_value("first");
  keyed->set_timestamp_ms(1234);
  v1::RecordHeader* h = keyed->add_headers();
  h->set_key("trace");
  h->set_value("abc");
  p->add_plain_records()->set_value("second");  // no key, broker time
  v1::ProduceResponse resp;
  grpc::Status status;
  for (int i = 0; i < 50; ++i) {  // the leader may learn of the topic a moment later
    grpc::ClientContext ctx;
    resp.Clear();
    status = cluster_.broker(leader)->Produce(&ctx, req, &resp);
    if (status.ok() && resp.topics(0).partitions(0).error() == v1::NONE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(resp.topics(0).partitions(0).error(), v1::NONE)
      << resp.topics(0).partitions(0).error_message();
  EXPECT_EQ(resp.topics(0).partitions(0).base_offset(), 0);

  v1::FetchRequest fetch;
  fetch.set_replica_id(-1);
  fetch.set_decode_records(true);
  v1::FetchPartition* fp = fetch.add_topics()->add_partitions();
  fetch.mutable_topics(0)->set_topic("plain");
  fp->set_partition(0);
  fp->set_fetch_offset(1);  // from the second record: the first is skipped
  grpc::ClientContext fctx;
  v1::FetchResponse fresp;
  ASSERT_TRUE(cluster_.broker(leader)->Fetch(&fctx, fetch, &fresp).ok());
  const v1::FetchPartitionResponse& part = fresp.topics(0).partitions(0);
  ASSERT_EQ(part.error(), v1::NONE) << part.error_message();
  EXPECT_EQ(part.high_watermark(), 2);
  ASSERT_EQ(part.decoded_records_size(), 1);
  EXPECT_EQ(part.decoded_records(0).offset(), 1);
  EXPECT_EQ(part.decoded_records(0).value(), "second");
  EXPECT_FALSE(part.decoded_records(0).has_key());
  EXPECT_GT(part.decoded_records(0).timestamp_ms(), 1'600'000'000'000);

  fp->set_fetch_offset(0);
  grpc::ClientContext fctx2;
  ASSERT_TRUE(cluster_.broker(leader)->Fetch(&fctx2, fetch, &fresp).ok());
  const v1::FetchPartitionResponse& all = fresp.topics(0).partitions(0);
  ASSERT_EQ(all.decoded_records_size(), 2);
  const v1::Record& first = all.decoded_records(0);
  EXPECT_EQ(first.key(), "k1");
  EXPECT_EQ(first.value(), "first");
  EXPECT_EQ(first.timestamp_ms(), 1234);
  ASSERT_EQ(first.headers_size(), 1);
  EXPECT_EQ(first.headers(0).key(), "trace");
  EXPECT_EQ(first.headers(0).value(), "abc");
  // The raw batches come too, and validate.
  EXPECT_TRUE(record::ValidateBatch(all.records()).ok());
}

TEST_F(ClusterTest, RecordsSurviveAFullStopAndStart) {
  ASSERT_EQ(
      Topics({"--create", "--topic", "durable", "--partitions", "1", "--replication-factor", "1"})
          .exit_code,
      0);
  std::string input;
  for (int i = 0; i < 50; ++i) input += "record-" + std::to_string(i) + "\n";
  CliResult r = cluster_.Cli(
      {"console-producer", "--bootstrap-server", cluster_.bootstrap_all(), "--topic", "durable"},
      input);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  for (int n = 1; n <= 3; ++n) cluster_.Terminate(n);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.WaitReady(3));
  r = cluster_.Cli({"console-consumer", "--bootstrap-server", cluster_.bootstrap_all(), "--topic",
                    "durable", "--from-beginning", "--max-messages", "50", "--timeout-ms",
                    "30000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, input);
}

}  // namespace
}  // namespace strata::testing
