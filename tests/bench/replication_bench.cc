// replication_bench: what replication costs a producer. Starts a local
// three-node cluster (loopback, ports picked by the OS, stopped by PID at
// the end) and runs `strata producer-perf-test` against
//   RF 1, acks=1    (no replication on the produce path)
//   RF 3, acks=all  (every in-sync replica has each batch before the ack)
// with 100-byte and 1 KiB records, printing records/s, MB/s and the ratio.
// Client and nodes share this machine's cores, as on a laptop.
//
//   replication_bench [--records-100 N] [--records-1k N] [--partitions P]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/bench/perf_test_run.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

bool Run(StrataCluster& cluster, const std::string& topic, int rf, const std::string& acks,
         int records, int size, int partitions, PerfFigures* out) {
  return RunProducerPerf(cluster, topic, partitions, rf, {}, records, size,
                         {"acks=" + acks, "batch.size=65536", "linger.ms=5"}, {}, out);
}

int Main(int records_100, int records_1k, int partitions) {
  StrataCluster cluster(3);
  cluster.StartAll();
  if (!cluster.WaitReady(3)) {
    std::fprintf(stderr, "cluster not ready; logs in %s\n", cluster.dir().c_str());
    cluster.KeepData();
    return 1;
  }
  std::printf(
      "replication_bench: 3 local nodes, %d partitions per topic, batch.size=65536, "
      "linger.ms=5\n\n",
      partitions);
  std::printf("%-8s %-22s %12s %9s %11s\n", "record", "topic", "records/s", "MB/s", "avg ms");
  bool ok = true;
  for (const auto& [size, records] : {std::pair{100, records_100}, std::pair{1024, records_1k}}) {
    PerfFigures rf1;
    PerfFigures rf3;
    const std::string suffix = std::to_string(size);
    ok = Run(cluster, "rf1-" + suffix, 1, "1", records, size, partitions, &rf1) &&
         Run(cluster, "rf3-" + suffix, 3, "all", records, size, partitions, &rf3) && ok;
    if (!ok) break;
    std::printf("%-8d %-22s %12.0f %9.1f %11.1f\n", size, "RF 1, acks=1", rf1.records_per_s,
                rf1.mb_per_s, rf1.avg_latency_ms);
    std::printf("%-8d %-22s %12.0f %9.1f %11.1f\n", size, "RF 3, acks=all", rf3.records_per_s,
                rf3.mb_per_s, rf3.avg_latency_ms);
    std::printf("%-8d %-22s %12.2f\n\n", size, "ratio RF3 / RF1",
                rf3.records_per_s / rf1.records_per_s);
    std::fflush(stdout);
  }
  if (!ok) cluster.KeepData();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace strata::testing

int main(int argc, char** argv) {
  int records_100 = 1000000;
  int records_1k = 300000;
  int partitions = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (arg == "--records-100") {
      records_100 = v;
    } else if (arg == "--records-1k") {
      records_1k = v;
    } else if (arg == "--partitions") {
      partitions = v;
    } else {
      std::fprintf(
          stderr, "usage: replication_bench [--records-100 N] [--records-1k N] [--partitions P]\n");
      return 2;
    }
  }
  return strata::testing::Main(records_100, records_1k, partitions);
}
