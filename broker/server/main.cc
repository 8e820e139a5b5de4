// strata-server: one node of a Strata cluster.
//
//   strata-server config/server.properties [--override key=value]...
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "broker/server/server_config.h"
#include "broker/server/strata_node.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"

int main(int argc, char** argv) {
  // Debian's abseil keeps absl::Mutex's deadlock detection on, which
  // records every lock's acquisition order in a global graph: a cost on
  // every lock for a check the tests (which keep it) are there for.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Stop signals go to sigwait below, whichever thread they hit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  std::string path;
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--override" && i + 1 < argc) {
      overrides.push_back(argv[++i]);
    } else if (arg == "--help" || arg == "-h") {
      std::printf("usage: strata-server <server.properties> [--override key=value]...\n");
      return 0;
    } else if (path.empty() && !arg.starts_with("--")) {
      path = arg;
    } else {
      std::fprintf(stderr,
                   "strata-server: unexpected argument '%s'\n"
                   "usage: strata-server <server.properties> [--override key=value]...\n",
                   arg.c_str());
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: strata-server <server.properties> [--override key=value]...\n");
    return 2;
  }
  absl::StatusOr<strata::server::ServerConfig> config =
      strata::server::LoadServerConfig(path, overrides);
  if (!config.ok()) {
    std::fprintf(stderr, "strata-server: %s: %s\n", path.c_str(),
                 std::string(config.status().message()).c_str());
    return 1;
  }
  for (const std::string& key : config->unknown_keys) {
    LOG(WARNING) << "Unknown configuration '" << key << "' in " << path << " is ignored";
  }
  strata::server::StrataNode node(*config);
  if (absl::Status s = node.Start(); !s.ok()) {
    std::fprintf(stderr, "strata-server: cannot start: %s\n", std::string(s.message()).c_str());
    node.Stop();
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  LOG(INFO) << "Received signal " << sig << "; shutting down";
  node.Stop();
  return 0;
}
