// fault_test: acknowledged records survive leaders killed with SIGKILL.
//
// A three-node cluster; a topic of 6 partitions, replication factor 3,
// min.insync.replicas=2. A producer (acks=all, retries) sends unique
// sequential ids, id i to partition i % 6, while round after round the
// leader of one partition is killed with SIGKILL, the partition fails over,
// and the broker is started again and rejoins the ISR. Then a consumer reads
// every partition from the beginning and the test checks:
//   * every acknowledged id is there;
//   * within each partition the acknowledged ids appear in send order;
//   * no id is there twice (the producer is idempotent: a retry of a send
//     whose answer was lost is answered with the original's offset).
//
//   fault_test [--rounds N] [--rate RECORDS_PER_S] [--signal kill|term|power]
//              [--seed S]
//
// With --signal term the leader is stopped with SIGTERM instead (a
// controlled shutdown); then no send may fail either.
//
// With --signal power each round is a power cut: a random broker (leader
// or not) is SIGKILLed, every partition's active segment on it loses its
// unflushed tail (cut at a random batch boundary between the recovery point
// and the end), and it starts again after a random 0-15 s. A round starts
// only when every ISR is full again. The seed is printed; --seed replays
// the same choices.
//
// Exit status 0 when both checks hold. CTest runs short versions with the
// integration tests and the full ones under the `fault` label.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/id_stream.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {

enum class Fault { kKill, kTerm, kPower };

namespace {

constexpr int kPartitions = 6;
constexpr char kTopic[] = "fault";

int Run(int rounds, int rate, Fault fault, uint32_t seed) {
  const bool controlled = fault == Fault::kTerm;
  std::mt19937 rng(seed);
  std::printf("fault test: seed %u\n", seed);
  StrataCluster cluster(3, {"leader.imbalance.check.interval.seconds=1"});
  cluster.StartAll();
  if (!cluster.WaitReady(3)) {
    std::fprintf(stderr, "cluster not ready; logs in %s\n", cluster.dir().c_str());
    cluster.KeepData();
    return 1;
  }
  CliResult created =
      cluster.Cli({"topics", "--bootstrap-server", cluster.bootstrap(1), "--create", "--topic",
                   kTopic, "--partitions", std::to_string(kPartitions), "--replication-factor", "3",
                   "--config", "min.insync.replicas=2"});
  if (created.exit_code != 0) {
    std::fprintf(stderr, "create failed: %s\n", created.err.c_str());
    return 1;
  }

  IdStream stream(cluster.bootstrap_all(), kTopic, kPartitions, rate);
  if (absl::Status s = stream.Start(); !s.ok()) {
    std::fprintf(stderr, "producer: %s\n", std::string(s.message()).c_str());
    return 1;
  }

  auto all_isrs_full = [&](int observer) {
    auto d = cluster.Describe(kTopic, observer);
    if (d.size() != static_cast<size_t>(kPartitions)) return false;
    for (const auto& [p, line] : d) {
      if (line.isr.size() != 3) return false;
    }
    return true;
  };
  int failovers = 0;
  int64_t batches_cut = 0;
  for (int round = 1; round <= rounds; ++round) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (fault == Fault::kPower) {
      const int victim = 1 + static_cast<int>(rng() % 3);
      const int observer = victim % 3 + 1;
      if (!Eventually([&] { return all_isrs_full(observer); }, 60000)) {
        std::printf("round %d: the ISRs are not full; not starting it\n", round);
        break;
      }
      const int64_t epoch = cluster.BrokerEpochSeenBy(observer, victim);
      cluster.Kill(victim);
      const int64_t cut = cluster.CutUnflushedTails(
          victim, [&](size_t boundaries) { return static_cast<size_t>(rng() % boundaries); });
      batches_cut += cut;
      const int delay_ms = static_cast<int>(rng() % 15001);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      cluster.Start(victim);
      const auto started = std::chrono::steady_clock::now();
      // Its new registration first (until then the controller may still
      // count the old process in the ISRs), then every ISR full.
      const bool rejoined = cluster.WaitReregistered(observer, victim, epoch) &&
                            Eventually([&] { return all_isrs_full(observer); }, 60000);
      const auto rejoin_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count();
      failovers += rejoined ? 1 : 0;
      std::printf(
          "round %d: power cut on broker %d, %lld unflushed batches lost, back after %d ms; %s "
          "%lld ms after its start\n",
          round, victim, static_cast<long long>(cut), delay_ms,
          rejoined ? "back in every ISR" : "NOT back in every ISR",
          static_cast<long long>(rejoin_ms));
      std::fflush(stdout);
      continue;
    }
    const int partition = round % kPartitions;
    const int leader = cluster.Describe(kTopic, 1 + round % 3)[partition].leader;
    if (leader < 1) {
      std::fprintf(stderr, "round %d: partition %d has no leader\n", round, partition);
      continue;
    }
    const int observer = leader % 3 + 1;
    const auto killed = std::chrono::steady_clock::now();
    if (controlled) {
      cluster.Terminate(leader);
    } else {
      cluster.Kill(leader);
    }
    const bool moved = Eventually(
        [&] {
          const int now = cluster.Describe(kTopic, observer)[partition].leader;
          return now > 0 && now != leader;
        },
        20000);
    const auto failover_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - killed)
                                 .count();
    failovers += moved ? 1 : 0;
    cluster.Start(leader);
    const bool rejoined = Eventually(
        [&] {
          auto d = cluster.Describe(kTopic, observer);
          if (d.size() != static_cast<size_t>(kPartitions)) return false;
          for (const auto& [p, line] : d) {
            if (line.isr.size() != 3) return false;
          }
          return true;
        },
        30000);
    std::printf("round %d: %s broker %d (leader of %s-%d); new leader after %lld ms%s; %s\n", round,
                controlled ? "stopped (SIGTERM)" : "killed", leader, kTopic, partition,
                static_cast<long long>(failover_ms), moved ? "" : " (none!)",
                rejoined ? "back in every ISR" : "NOT back in every ISR within 30 s");
    std::fflush(stdout);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stream.Stop();
  absl::StatusOr<IdStreamReport> report = stream.Check();
  if (!report.ok()) {
    std::fprintf(stderr, "reading back: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  std::printf("fault test: %d rounds, %d failovers; %s\n", rounds, failovers,
              report->Summary().c_str());
  if (fault == Fault::kPower) {
    std::printf("power cuts: %lld unflushed batches lost on the killed brokers in all\n",
                static_cast<long long>(batches_cut));
  }
  const bool ok = report->Safe() && failovers == rounds && (!controlled || report->failed == 0);
  if (!ok) {
    cluster.KeepData();
    std::printf("FAILED; node logs kept in %s\n", cluster.dir().c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace strata::testing

int main(int argc, char** argv) {
  int rounds = 5;
  int rate = 2000;
  using strata::testing::Fault;
  Fault fault = Fault::kKill;
  uint32_t seed = std::random_device()();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--rate" && i + 1 < argc) {
      rate = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--signal" && i + 1 < argc) {
      const std::string sig = argv[++i];
      if (sig != "kill" && sig != "term" && sig != "power") {
        std::fprintf(stderr, "--signal must be kill, term or power, not %s\n", sig.c_str());
        return 2;
      }
      fault = sig == "term" ? Fault::kTerm : sig == "power" ? Fault::kPower : Fault::kKill;
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr,
                   "usage: fault_test [--rounds N] [--rate RECORDS_PER_S] "
                   "[--signal kill|term|power] [--seed S]\n");
      return 2;
    }
  }
  return strata::testing::Run(rounds, rate, fault, seed);
}
