// Runs `strata producer-perf-test` on a StrataCluster and reads its summary
// line: the benchmarks that compare producer settings share it.
#pragma once

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/strata_cluster.h"

namespace strata::testing {

struct PerfFigures {
  double records_per_s = 0;
  double mb_per_s = 0;
  double avg_latency_ms = 0;
  std::string summary;
};

// Creates `topic` (`partitions`, replication factor `rf`, the `configs`
// given as key=value) and runs producer-perf-test on it with
// `producer_props` (key=value; bootstrap.servers is added) plus
// `extra_args`. False, with what went wrong on stderr, when either step
// fails.
inline bool RunProducerPerf(StrataCluster& cluster, const std::string& topic, int partitions,
                            int rf, const std::vector<std::string>& configs, int records, int size,
                            const std::vector<std::string>& producer_props,
                            const std::vector<std::string>& extra_args, PerfFigures* out) {
  std::vector<std::string> create = {"topics",
                                     "--bootstrap-server",
                                     cluster.bootstrap(1),
                                     "--create",
                                     "--topic",
                                     topic,
                                     "--partitions",
                                     std::to_string(partitions),
                                     "--replication-factor",
                                     std::to_string(rf)};
  for (const std::string& c : configs) {
    create.push_back("--config");
    create.push_back(c);
  }
  CliResult created = cluster.Cli(create);
  if (created.exit_code != 0) {
    std::fprintf(stderr, "create %s: %s\n", topic.c_str(), created.err.c_str());
    return false;
  }
  std::vector<std::string> args = {"producer-perf-test",
                                   "--topic",
                                   topic,
                                   "--num-records",
                                   std::to_string(records),
                                   "--record-size",
                                   std::to_string(size),
                                   "--throughput",
                                   "-1",
                                   "--producer-props",
                                   "bootstrap.servers=" + cluster.bootstrap_all()};
  args.insert(args.end(), producer_props.begin(), producer_props.end());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  CliResult perf = cluster.Cli(args);
  static const std::regex kSummary(
      "([0-9]+) records sent, ([0-9.]+) records/sec \\(([0-9.]+) MB/sec\\), ([0-9.]+) ms avg "
      "latency.*");
  std::smatch m;
  std::string last;
  for (size_t pos = 0; pos < perf.out.size();) {
    size_t end = perf.out.find('\n', pos);
    if (end == std::string::npos) end = perf.out.size();
    std::string line = perf.out.substr(pos, end - pos);
    if (line.find("th.") != std::string::npos) last = line;  // the summary has percentiles
    pos = end + 1;
  }
  if (perf.exit_code != 0 || !std::regex_match(last, m, kSummary)) {
    std::fprintf(stderr, "producer-perf-test on %s failed (exit %d): %s%s\n", topic.c_str(),
                 perf.exit_code, perf.out.c_str(), perf.err.c_str());
    return false;
  }
  out->records_per_s = std::stod(m[2]);
  out->mb_per_s = std::stod(m[3]);
  out->avg_latency_ms = std::stod(m[4]);
  out->summary = last;
  return true;
}

}  // namespace strata::testing
