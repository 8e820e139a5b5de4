// partition_scale_bench: many partitions on a local three-node cluster
// (issue 9). Creates one topic of N partitions, replication factor 3 (N
// replicas per node), writes one record to every partition, then restarts
// the whole cluster, and prints:
//   * how long the create took and how long until every ISR was full;
//   * each node's open files and resident memory;
//   * how long the clean stop took, and from the restart until every ISR
//     was full again;
//   * what CreateTopics answers past the nodes' replica capacity.
// Loopback only; every process is stopped by PID at the end.
//
//   partition_scale_bench [--partitions N] [--kill]
//
// --kill restarts with SIGKILL instead of a clean stop. Exit status 0 when
// every ISR came back full within 60 s of the restart and the over-capacity
// create was refused.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client/producer.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

int64_t OpenFiles(pid_t pid) {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// Every partition of `topic` has a leader and a full ISR, as `node` sees it:
// Kafka's filters list none.
bool AllIsrsFull(const StrataCluster& cluster, const std::string& topic, int node) {
  for (const char* filter : {"--under-replicated-partitions", "--unavailable-partitions"}) {
    CliResult r = cluster.Cli({"topics", "--bootstrap-server", cluster.bootstrap(node),
                               "--describe", "--topic", topic, filter});
    if (r.exit_code != 0 || r.out.find("Partition:") != std::string::npos) return false;
  }
  return true;
}

bool WaitFull(const StrataCluster& cluster, const std::string& topic, int timeout_s) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  while (Clock::now() < deadline) {
    if (AllIsrsFull(cluster, topic, 1)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

void PrintNodes(const StrataCluster& cluster, const char* when) {
  for (int n = 1; n <= 3; ++n) {
    const pid_t pid = cluster.pid(n);
    std::printf("  node %d %s: %lld open files, RSS %.0f MiB\n", n, when,
                static_cast<long long>(OpenFiles(pid)), StatusKb(pid, "VmRSS") / 1024.0);
  }
}

int Run(int partitions, bool kill) {
  StrataCluster cluster(3, {"broker.session.timeout.ms=9000"});
  cluster.StartAll();
  if (!cluster.WaitReady(3, 60000)) {
    std::fprintf(stderr, "cluster not ready; logs in %s\n", cluster.dir().c_str());
    cluster.KeepData();
    return 1;
  }
  auto start = Clock::now();
  CliResult created = cluster.Cli({"topics", "--bootstrap-server", cluster.bootstrap(1), "--create",
                                   "--topic", "scale", "--partitions", std::to_string(partitions),
                                   "--replication-factor", "3"});
  const double create_s = SecondsSince(start);
  if (created.exit_code != 0) {
    std::fprintf(stderr, "create failed: %s\n", created.err.c_str());
    cluster.KeepData();
    return 1;
  }
  const bool full_after_create = WaitFull(cluster, "scale", 300);
  std::printf("created %d partitions RF 3 in %.1f s; every ISR full %.1f s after the request%s\n",
              partitions, create_s, SecondsSince(start), full_after_create ? "" : " (NOT FULL)");
  PrintNodes(cluster, "after create");

  // One record to every partition: each replica then holds its active
  // segment open, the most descriptors a node needs.
  client::ProducerConfig pc;
  pc.bootstrap_servers = cluster.bootstrap_all();
  pc.acks = -1;
  auto producer = client::Producer::Create(pc);
  if (!producer.ok()) return 1;
  std::atomic<int> acked{0};
  start = Clock::now();
  for (int p = 0; p < partitions; ++p) {
    client::ProducerRecord r;
    r.topic = "scale";
    r.partition = p;
    r.value = "v" + std::to_string(p);
    (*producer)->Send(std::move(r), [&](const absl::StatusOr<client::RecordMetadata>& md) {
      if (md.ok()) ++acked;
    });
  }
  (*producer)->Flush();
  (*producer)->Close();
  std::printf("one record to each partition (acks=all): %d acknowledged in %.1f s\n", acked.load(),
              SecondsSince(start));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  PrintNodes(cluster, "after writes");

  start = Clock::now();
  for (int n = 1; n <= 3; ++n) {
    if (kill) {
      cluster.Kill(n);
    } else {
      cluster.Terminate(n);
    }
  }
  std::printf("%s all three nodes in %.1f s\n", kill ? "killed" : "stopped (SIGTERM)",
              SecondsSince(start));
  start = Clock::now();
  cluster.StartAll();
  const bool ready = cluster.WaitReady(3, 120000);
  const double ready_s = SecondsSince(start);
  const bool full = ready && WaitFull(cluster, "scale", 120);
  const double full_s = SecondsSince(start);
  std::printf("restart: brokers registered and unfenced after %.1f s; every ISR full after %.1f s%s\n",
              ready_s, full_s, full ? "" : " (NOT FULL within 120 s)");
  PrintNodes(cluster, "after restart");

  // Past the capacity: each node can hold its open-file limit less a
  // reserve; ask for more than is left.
  CliResult over = cluster.Cli({"topics", "--bootstrap-server", cluster.bootstrap(1), "--create",
                                "--topic", "too-many", "--partitions", "10000",
                                "--replication-factor", "3"});
  std::printf("over capacity: exit %d, %s", over.exit_code, over.err.c_str());
  const bool refused = over.exit_code != 0 &&
                       over.err.find("capacity") != std::string::npos;
  // The nodes here hold at most 20,000 - 3,000 replicas each.
  const bool must_refuse = partitions + 10000 > 17000;
  if (!must_refuse) std::printf("\n(within capacity at %d partitions: accepted)\n", partitions);
  const bool ok = full && full_s <= 60 && (refused || !must_refuse);
  if (!ok) {
    cluster.KeepData();
    std::printf("FAILED; node logs kept in %s\n", cluster.dir().c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace strata::testing

int main(int argc, char** argv) {
  int partitions = 10000;
  bool kill = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--partitions" && i + 1 < argc) {
      partitions = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--kill") {
      kill = true;
    } else {
      std::fprintf(stderr, "usage: partition_scale_bench [--partitions N] [--kill]\n");
      return 2;
    }
  }
  return strata::testing::Run(partitions, kill);
}
