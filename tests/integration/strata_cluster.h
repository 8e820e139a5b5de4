// StrataCluster: a cluster of real strata-server processes on loopback
// ports for integration tests, plus a runner for the `strata` CLI. Every
// process it starts is stopped by PID when it goes away; data lives in a
// temporary directory that is removed unless the test failed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "strata/v1/admin.grpc.pb.h"
#include "strata/v1/broker.grpc.pb.h"
#include "tests/integration/child_process.h"

namespace strata::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// One partition line of `strata topics --describe`.
struct PartitionLine {
  int leader = -1;  // -1: none
  std::string replicas;
  std::vector<int> isr;
};

// The lines of a command's output, and the same without the empty ones.
std::vector<std::string> Lines(const std::string& text);
std::vector<std::string> NonEmptyLines(const std::string& text);

// Polls `done` every 100 ms for up to `timeout_ms`; whether it came true.
bool Eventually(const std::function<bool()>& done, int timeout_ms);

class StrataCluster {
 public:
  // `extra` lines are appended to every node's properties.
  explicit StrataCluster(int nodes, std::vector<std::string> extra = {});
  ~StrataCluster();

  // Appends `line` (key=value, overriding earlier keys) to `node`'s
  // properties; it applies from the node's next start.
  void AppendProperty(int node, const std::string& line);
  // Adds a broker-only node (process.roles=broker), numbered after the
  // voters and any broker-only node added before: it observes the metadata
  // quorum of the voters and registers as a broker. Its properties hold the
  // cluster's `extra` lines, then `extra`. Start it with Start(node);
  // StartAll() starts the voters only. Returns its node id.
  int AddBrokerOnlyNode(std::vector<std::string> extra = {});
  // The voters, then the broker-only nodes.
  std::vector<int> nodes() const;
  void StartAll();
  void Start(int node);
  void Kill(int node);       // SIGKILL
  void Terminate(int node);  // SIGTERM, clean shutdown
  void Pause(int node);      // SIGSTOP: the process stays, but does nothing
  void Resume(int node);     // SIGCONT
  bool running(int node) const;
  pid_t pid(int node) const;  // -1 when not running

  // Waits until every running node (broker-only ones included) answers, one
  // of them is the quorum leader, and `brokers` brokers are registered and
  // unfenced.
  bool WaitReady(int brokers, int timeout_ms = 30000);
  // The metadata quorum leader as `node` sees it (-1: none, or no answer).
  int ControllerSeenBy(int node);
  // `broker`'s registration epoch as `node` sees it, and whether it is
  // unfenced (-1: unknown, or no answer). A restarted broker's new
  // registration has a larger epoch.
  int64_t BrokerEpochSeenBy(int node, int broker, bool* unfenced = nullptr);
  // After `broker` restarted: waits until `observer` sees it registered
  // with an epoch above `old_epoch` and unfenced.
  bool WaitReregistered(int observer, int broker, int64_t old_epoch, int timeout_ms = 60000);

  std::string bootstrap(int node) const;     // "127.0.0.1:port"
  int kafka_port(int node) const;            // its KAFKA listener (Kafka's protocol)
  std::string bootstrap_all() const;         // the voters'
  std::string log_path(int node) const;      // the node's stdout and stderr
  std::string peer_address(int node) const;  // its CONTROLLER listener
  v1::Admin::Stub* admin(int node) { return admin_.at(node).get(); }
  v1::Broker::Stub* broker(int node) { return broker_.at(node).get(); }

  // `strata topics --describe --topic T` as asked of `node`, by partition
  // (empty when the command fails).
  std::map<int, PartitionLine> Describe(const std::string& topic, int node) const;

  // Runs `strata <args>` with `input` on stdin (bounded to 60 s).
  CliResult Cli(const std::vector<std::string>& args, const std::string& input = "") const;

  // What a power cut does to a SIGKILLed node's partition logs: each
  // partition's active (last) segment loses its unflushed tail, cut at a
  // batch boundary drawn by `pick` (given how many boundaries lie between
  // the recovery point and the end, it returns one of them; 0 = the
  // earliest, keeping only what was fsynced). Returns how many batches were
  // cut in all. The node must not be running.
  int64_t CutUnflushedTails(int node, const std::function<size_t(size_t)>& pick) const;
  // Cuts the active segment of `topic`-`partition` on `node` to `fraction`
  // of its size, wherever that falls (a torn batch, as a power cut leaves).
  // Returns the new size, or -1 when there is no such segment.
  int64_t CutActiveSegment(int node, const std::string& topic, int partition,
                           double fraction) const;
  std::string partition_dir(int node, const std::string& topic, int partition) const;

  const std::string& dir() const { return dir_; }
  void KeepData() { keep_ = true; }

 private:
  void WriteProperties(int node, const std::string& roles, const std::vector<std::string>& extra);

  int nodes_;
  std::vector<std::string> extra_;
  std::string voters_;  // controller.quorum.voters
  std::string dir_;
  bool keep_ = false;
  std::map<int, int> client_port_;
  std::map<int, int> peer_port_;
  std::map<int, int> kafka_port_;
  std::map<int, std::unique_ptr<ChildProcess>> procs_;
  std::map<int, std::unique_ptr<v1::Admin::Stub>> admin_;
  std::map<int, std::unique_ptr<v1::Broker::Stub>> broker_;
};

}  // namespace strata::testing
