// The randomized simulation as CTest cases, plus a command line for replay
// and soak runs:
//
//   raft_sim_test                       # GoogleTest: the seed ranges below
//   raft_sim_test --seed 1234 [--trace] # replay one seed (trace: every event)
//   raft_sim_test --seeds 100000 [--first-seed 1]   # soak run
//   STRATA_SIM_SEED=1234 raft_sim_test  # same as --seed
//
// A failing seed is printed with the command that replays it. If the Raft
// core itself CHECK-fails, the fatal handler prints the seed before dying.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "glog/logging.h"
#include "gtest/gtest.h"
#include "raft_sim.h"

namespace strata::raft::sim {
namespace {

// 10 ranges of 400 seeds: 4,000 seeds, the shape cycling 3v / 3v+1l / 5v /
// 5v+2l with the seed. Separate cases so CTest can run them in parallel.
constexpr uint64_t kSeedsPerCase = 400;
constexpr int kCases = 10;

class SimSeeds : public ::testing::TestWithParam<int> {};

TEST_P(SimSeeds, NoViolationAndConverges) {
  const uint64_t first = 1 + GetParam() * kSeedsPerCase;
  uint64_t failures = 0;
  for (uint64_t seed = first; seed < first + kSeedsPerCase; ++seed) {
    SimResult r = RunSeed(seed);
    if (!r.ok) {
      ++failures;
      ADD_FAILURE() << "seed " << seed << " [" << r.shape << "]: " << r.violation
                    << "\n  replay: raft_sim_test --seed " << seed << " --trace";
      if (failures >= 3) break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimSeeds, ::testing::Range(0, kCases));

void OnFatal() {
  std::fprintf(stderr, "\n*** fatal error during simulation seed %llu; replay with --seed %llu --trace\n",
               static_cast<unsigned long long>(CurrentSeed()),
               static_cast<unsigned long long>(CurrentSeed()));
  std::abort();
}

int ReplayOne(uint64_t seed, bool trace) {
  SimResult r = RunSeed(seed, trace ? [](const std::string& s) { std::cout << s << "\n"; }
                                    : std::function<void(const std::string&)>());
  std::cout << "seed " << seed << " [" << r.shape << "]: " << (r.ok ? "ok" : "VIOLATION")
            << " proposals=" << r.proposals << " acked=" << r.acked << " crashes=" << r.crashes
            << " partitions=" << r.partitions << " leaders=" << r.leaders
            << " snapshot_chunks=" << r.snapshot_chunks << " converged_in_ticks="
            << r.liveness_ticks << "\n";
  if (!r.ok) std::cout << "  " << r.violation << "\n";
  return r.ok ? 0 : 1;
}

int Soak(uint64_t first, uint64_t count) {
  const auto start = std::chrono::steady_clock::now();
  uint64_t failed = 0, acked = 0, crashes = 0, chunks = 0, max_ticks = 0, slowest = 0;
  std::map<std::string, uint64_t> by_shape;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SimResult r = RunSeed(seed);
    by_shape[r.shape.substr(0, r.shape.find(' '))]++;
    acked += r.acked;
    crashes += r.crashes;
    chunks += r.snapshot_chunks;
    if (r.liveness_ticks > max_ticks) {
      max_ticks = r.liveness_ticks;
      slowest = seed;
    }
    if (!r.ok) {
      ++failed;
      std::cout << "FAIL seed " << seed << " [" << r.shape << "]: " << r.violation << "\n";
    }
    if ((seed - first + 1) % 1000 == 0) {
      std::cout << (seed - first + 1) << " seeds, " << failed << " failed\n" << std::flush;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << count << " seeds (" << first << ".." << first + count - 1 << ") in " << secs
            << " s: " << failed << " failed; acked proposals " << acked << ", crashes " << crashes
            << ", snapshot chunks " << chunks << ", slowest convergence " << max_ticks
            << " ticks (seed " << slowest << ")\n";
  for (const auto& [shape, n] : by_shape) std::cout << "  " << shape << ": " << n << " seeds\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace strata::raft::sim

int main(int argc, char** argv) {
  using namespace strata::raft::sim;
  google::InitGoogleLogging(argv[0]);
  google::InstallFailureFunction(&OnFatal);
  bool have_seed = false, trace = false;
  uint64_t seed = 0, seeds = 0, first = 1;
  if (const char* env = std::getenv("STRATA_SIM_SEED")) {
    have_seed = true;
    seed = std::strtoull(env, nullptr, 10);
  }
  auto value = [&](int& i, const char* flag) -> const char* {
    const size_t n = std::strlen(flag);
    if (std::strncmp(argv[i], flag, n) != 0) return nullptr;
    if (argv[i][n] == '=') return argv[i] + n + 1;
    if (argv[i][n] == '\0' && i + 1 < argc) return argv[++i];
    return nullptr;
  };
  for (int i = 1; i < argc; ++i) {
    if (const char* v = value(i, "--seeds")) {
      seeds = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value(i, "--seed")) {
      have_seed = true;
      seed = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value(i, "--first-seed")) {
      first = std::strtoull(v, nullptr, 10);
    } else if (std::strcmp(argv[i], "--trace") == 0) {
      trace = true;
    }
  }
  if (have_seed) return ReplayOne(seed, trace);
  if (seeds > 0) return Soak(first, seeds);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
