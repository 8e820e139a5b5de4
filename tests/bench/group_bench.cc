// group_bench: what consumer groups cost (issue 11, acceptance 6). Starts
// local three-node clusters (loopback, ports picked by the OS, stopped by
// PID at the end; offsets.topic.num.partitions=6) and prints two tables.
//
// (a) Join, on a cluster with group.initial.rebalance.delay.ms=0: a group of
//     N stable members (Consumers of this process, each polling in a thread
//     of its own, subscribed to one empty topic of --partitions partitions,
//     RF 1) gets one more member. The figure is the time from the new
//     member's Subscribe() until the group is Stable again: every member,
//     the new one included, has returned from OnPartitionsAssigned for one
//     and the same generation, and in that generation the assignments are
//     disjoint, cover every partition and are balanced (each member holds
//     floor or ceil of P/(N+1)), and no member moves to a later generation
//     within 1 s after. An eager assignor (range) gets there in
//     one rebalance; a cooperative one (cooperative-sticky) needs the
//     follow-up rebalance after the revocations, and the figure includes it
//     ("rounds": generations the join took). Existing members learn of a
//     rebalance from a heartbeat (REBALANCE_IN_PROGRESS), so each case runs
//     with every --heartbeats interval (Kafka's default 3000 ms and a
//     shorter one). The new member then Close()s (LeaveGroup), and the time
//     until the N remaining members are Stable again is the "leave" figure.
//     Before each join and each leave the bench waits a random part of
//     a heartbeat interval (--seed), so that the samples meet every phase
//     of the members' heartbeats. --repeats joins per case: min / median /
//     max. Consumer settings are
//     Kafka's defaults otherwise (auto-commit on, session 45 s).
//
// (b) consumer-perf-test throughput, on a fresh cluster for each
//     --perf-initial-delays value of group.initial.rebalance.delay.ms
//     (Kafka's 3000 and 0): --records records of 100 B are produced first
//     (producer-perf-test, RF 3, acks=all) to a 6-partition topic; then, in
//     each of --perf-rounds rounds, one `strata consumer-perf-test` process
//     reads the whole topic in a group of its own (no --group, as Kafka),
//     and three processes started together with --group G (fresh each
//     round) and --messages a third each share it. Medians over the rounds
//     of records/s and MB/s for the one process; for the group the sum of
//     the three lines, and all records over the span from the first
//     member's start.time to the last record read (a member that ended by
//     --timeout read its last record --timeout before its end.time); each
//     process's rebalance.time.ms, and how many records each member read.
//     A member counts whole polls, so it may overshoot its third, leaving
//     another short of it, which then ends by --timeout (as Kafka's tool).
//
// Client and nodes share this machine's cores. A benchmark: it prints
// figures and asserts none.
//
//   group_bench [--members 3,10,50] [--heartbeats 3000,500] [--repeats 5]
//               [--partitions 60] [--records 3000000] [--perf-rounds 3]
//               [--perf-timeout 10000] [--perf-initial-delays 3000,0]
//               [--seed 1] [--skip-join] [--skip-perf]
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/config.h"
#include "client/consumer.h"
#include "glog/logging.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0, Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(t - t0).count();
}

struct Summary {
  double min = 0, median = 0, max = 0;
  int n = 0;
};

Summary Summarize(std::vector<double> v) {
  Summary s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  const size_t mid = v.size() / 2;
  s.median = v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return s;
}

double Median(const std::vector<double>& v) { return Summarize(v).median; }

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::atoi(item.c_str()));
  return out;
}

// ---------------------------------------------------------------- (a) join

// What every member's listener saw last: the state a Stable group is
// recognised by.
class Board {
 public:
  struct Entry {
    int32_t generation = -1;
    std::set<int32_t> assignment;
    Clock::time_point assigned_at;  // return from OnPartitionsAssigned
    int rebalances = 0;
    int lost = 0;
  };

  void Assigned(int member, int32_t generation, std::set<int32_t> assignment) {
    absl::MutexLock l(&mu_);
    Entry& e = entries_[member];
    e.generation = generation;
    e.assignment = std::move(assignment);
    e.assigned_at = Clock::now();
    ++e.rebalances;
  }
  void Lost(int member) {
    absl::MutexLock l(&mu_);
    ++entries_[member].lost;
  }
  void Failed(int member, const std::string& why) {
    absl::MutexLock l(&mu_);
    errors_.push_back("member " + std::to_string(member) + ": " + why);
  }
  void Forget(int member) {
    absl::MutexLock l(&mu_);
    entries_.erase(member);
  }

  // When `members` form a Stable group over `partitions` partitions at a
  // generation of at least `min_generation`: that generation and the time
  // the last of them returned from OnPartitionsAssigned for it.
  std::optional<std::pair<int32_t, Clock::time_point>> Stable(const std::set<int>& members,
                                                              int partitions,
                                                              int32_t min_generation) const {
    absl::MutexLock l(&mu_);
    if (members.empty()) return std::nullopt;
    const size_t lo = partitions / members.size();
    const size_t hi = lo + (partitions % members.size() == 0 ? 0 : 1);
    std::optional<int32_t> generation;
    Clock::time_point last{};
    std::set<int32_t> covered;
    size_t total = 0;
    for (int m : members) {
      auto it = entries_.find(m);
      if (it == entries_.end()) return std::nullopt;
      const Entry& e = it->second;
      if (generation.has_value() && *generation != e.generation) return std::nullopt;
      generation = e.generation;
      if (e.assignment.size() < lo || e.assignment.size() > hi) return std::nullopt;
      covered.insert(e.assignment.begin(), e.assignment.end());
      total += e.assignment.size();
      last = std::max(last, e.assigned_at);
    }
    if (*generation < min_generation || total != static_cast<size_t>(partitions) ||
        covered.size() != static_cast<size_t>(partitions)) {
      return std::nullopt;
    }
    return std::make_pair(*generation, last);
  }

  int32_t MaxGeneration(const std::set<int>& members) const {
    absl::MutexLock l(&mu_);
    int32_t g = -1;
    for (int m : members) {
      auto it = entries_.find(m);
      if (it != entries_.end()) g = std::max(g, it->second.generation);
    }
    return g;
  }
  int Lost() const {
    absl::MutexLock l(&mu_);
    int n = 0;
    for (const auto& [m, e] : entries_) n += e.lost;
    return n;
  }
  std::vector<std::string> errors() const {
    absl::MutexLock l(&mu_);
    return errors_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<int, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> errors_ ABSL_GUARDED_BY(mu_);
};

struct GroupCase {
  std::string bootstrap;
  std::string group;
  std::string topic;
  std::string strategy;
  int heartbeat_ms = 3000;
};

// One consumer in a thread of its own: Subscribe, then Poll until stopped,
// then Close.
class Member : private client::ConsumerRebalanceListener {
 public:
  Member(int id, const GroupCase& c, Board* board) : id_(id), case_(c), board_(board) {}
  ~Member() { Stop(); }

  // Creates the consumer (connections are not part of the figure),
  // subscribes and starts the polling thread; `subscribed_at` is the time
  // just before Subscribe().
  bool Start(Clock::time_point* subscribed_at) {
    client::Properties props = {{"bootstrap.servers", case_.bootstrap},
                                {"group.id", case_.group},
                                {"partition.assignment.strategy", case_.strategy},
                                {"heartbeat.interval.ms", std::to_string(case_.heartbeat_ms)},
                                {"client.id", "bench-" + std::to_string(id_)}};
    std::vector<std::string> ignored;
    absl::StatusOr<client::ConsumerConfig> config =
        client::ConsumerConfig::FromProperties(props, &ignored);
    if (!config.ok()) {
      board_->Failed(id_, std::string(config.status().message()));
      return false;
    }
    absl::StatusOr<std::unique_ptr<client::Consumer>> consumer = client::Consumer::Create(*config);
    if (!consumer.ok()) {
      board_->Failed(id_, std::string(consumer.status().message()));
      return false;
    }
    consumer_ = *std::move(consumer);
    // Subscribe() only records the topics; the first Poll() joins. The
    // thread takes the consumer over from here.
    *subscribed_at = Clock::now();
    if (absl::Status s = consumer_->Subscribe({case_.topic}, this); !s.ok()) {
      board_->Failed(id_, std::string(s.message()));
      return false;
    }
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        absl::StatusOr<std::vector<client::ConsumerRecord>> polled =
            consumer_->Poll(absl::Milliseconds(100));
        if (!polled.ok() && !stop_.load()) {
          board_->Failed(id_, std::string(polled.status().message()));
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
      consumer_->Close();
    });
    return true;
  }

  void Stop() {
    stop_.store(true);
    if (consumer_ != nullptr) consumer_->Wakeup();
    if (thread_.joinable()) thread_.join();
  }
  // Stop() for many members at once: first tell them all.
  void RequestStop() {
    stop_.store(true);
    if (consumer_ != nullptr) consumer_->Wakeup();
  }

 private:
  void OnPartitionsRevoked(const std::vector<TopicPartition>&) override {}
  void OnPartitionsAssigned(const std::vector<TopicPartition>&) override {
    std::set<int32_t> now;
    for (const TopicPartition& tp : consumer_->Assignment()) now.insert(tp.partition.value());
    board_->Assigned(id_, consumer_->Generation(), std::move(now));
  }
  void OnPartitionsLost(const std::vector<TopicPartition>&) override { board_->Lost(id_); }

  const int id_;
  const GroupCase case_;
  Board* const board_;
  std::unique_ptr<client::Consumer> consumer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Waits until `members` are Stable at a generation >= `min_generation`,
// then for a quiet spell in which no member moves to a newer generation (a
// follow-up rebalance would); returns the time of the last member's
// OnPartitionsAssigned, or nullopt after `timeout_ms`.
std::optional<Clock::time_point> AwaitStable(const Board& board, const std::set<int>& members,
                                             int partitions, int32_t min_generation, int quiet_ms,
                                             int timeout_ms, int32_t* generation) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    auto stable = board.Stable(members, partitions, min_generation);
    if (!stable.has_value()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    const Clock::time_point quiet_until = Clock::now() + std::chrono::milliseconds(quiet_ms);
    bool moved = false;
    while (Clock::now() < quiet_until) {
      if (board.MaxGeneration(members) != stable->first) {
        moved = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (moved) {
      min_generation = stable->first + 1;
      continue;
    }
    *generation = stable->first;
    return stable->second;
  }
  return std::nullopt;
}

struct JoinFigures {
  std::vector<double> join_ms;
  std::vector<double> leave_ms;
  std::vector<int> join_rounds;  // generations the join took
  int lost = 0;
  double form_ms = 0;
  std::vector<std::string> errors;
};

bool RunJoinCase(const GroupCase& c, int existing, int partitions, int repeats, uint32_t seed,
                 JoinFigures* out) {
  Board board;
  const int quiet_ms = 1000;
  // Existing members hear of a rebalance at their next heartbeat, so a join
  // at a fixed distance from the last rebalance would always meet the same
  // heartbeat phase: a random wait of up to one interval before each join
  // and leave samples the phase.
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> phase(0, c.heartbeat_ms - 1);
  std::vector<std::unique_ptr<Member>> members;
  std::set<int> ids;
  const Clock::time_point form_start = Clock::now();
  for (int i = 0; i < existing; ++i) {
    members.push_back(std::make_unique<Member>(i, c, &board));
    Clock::time_point ignored;
    if (!members.back()->Start(&ignored)) return false;
    ids.insert(i);
  }
  int32_t generation = -1;
  auto formed = AwaitStable(board, ids, partitions, 0, quiet_ms, 180000, &generation);
  if (!formed.has_value()) {
    out->errors.push_back("the group of " + std::to_string(existing) + " never became Stable");
    return false;
  }
  out->form_ms = MsSince(form_start, *formed);
  bool ok = true;
  for (int r = 0; r < repeats && ok; ++r) {
    const int id = existing + r;
    std::this_thread::sleep_for(std::chrono::milliseconds(phase(rng)));
    auto joiner = std::make_unique<Member>(id, c, &board);
    Clock::time_point t0;
    const int32_t before = generation;
    if (!joiner->Start(&t0)) {
      ok = false;
      break;
    }
    std::set<int> with = ids;
    with.insert(id);
    auto joined = AwaitStable(board, with, partitions, before + 1, quiet_ms, 120000, &generation);
    if (!joined.has_value()) {
      out->errors.push_back("join " + std::to_string(r) + " never became Stable");
      ok = false;
    } else {
      out->join_ms.push_back(MsSince(t0, *joined));
      out->join_rounds.push_back(generation - before);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(phase(rng)));
    const int32_t before_leave = generation;
    const Clock::time_point leave_start = Clock::now();
    joiner->Stop();
    board.Forget(id);
    auto left =
        AwaitStable(board, ids, partitions, before_leave + 1, quiet_ms, 120000, &generation);
    if (!left.has_value()) {
      out->errors.push_back("leave " + std::to_string(r) + " never became Stable");
      ok = false;
    } else {
      out->leave_ms.push_back(MsSince(leave_start, *left));
    }
  }
  for (auto& m : members) m->RequestStop();
  members.clear();
  out->lost = board.Lost();
  for (const std::string& e : board.errors()) out->errors.push_back(e);
  return ok;
}

// ---------------------------------------------------------- (b) perf test

// A `strata` process with its output in a file.
class CliProcess {
 public:
  CliProcess() = default;
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  ~CliProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool Start(const std::vector<std::string>& args, const std::string& out_path) {
    out_path_ = out_path;
    std::vector<std::string> argv = {STRATA_CLI};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargs;
    for (const std::string& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
    cargs.push_back(nullptr);
    started_ = Clock::now();
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(cargs[0], cargs.data());
      ::_exit(127);
    }
    return true;
  }

  // Whether it exited (reaping it); non-blocking.
  bool Done() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    ended_ = Clock::now();
    return true;
  }
  bool Wait(int timeout_ms) {
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!Done()) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  std::string Output() const {
    std::ifstream in(out_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  int exit_code() const { return exit_code_; }
  Clock::time_point started() const { return started_; }
  Clock::time_point ended() const { return ended_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string out_path_;
  Clock::time_point started_, ended_;
};

// consumer-perf-test's figures line.
struct PerfLine {
  double mb = 0, mb_per_s = 0, records = 0, records_per_s = 0;
  double rebalance_ms = 0, fetch_ms = 0, fetch_mb_per_s = 0, fetch_records_per_s = 0;
  int64_t start_ms = 0, end_ms = 0;  // the tool's start.time and end.time
  bool timed_out = false;
};

// consumer-perf-test's "yyyy-MM-dd HH:mm:ss:SSS" (local time) in ms since
// the epoch; 0 if unreadable.
int64_t ParseKafkaTime(const std::string& text) {
  const size_t colon = text.rfind(':');
  absl::Time t;
  std::string error;
  if (colon == std::string::npos || !absl::ParseTime("%Y-%m-%d %H:%M:%S", text.substr(0, colon),
                                                     absl::LocalTimeZone(), &t, &error)) {
    return 0;
  }
  return absl::ToUnixMillis(t) + std::atoi(text.c_str() + colon + 1);
}

std::optional<PerfLine> ParsePerf(const std::string& output) {
  std::optional<PerfLine> found;
  bool timed_out = output.find("WARNING: Exiting before") != std::string::npos;
  std::stringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f;
    for (size_t pos = 0;;) {
      size_t comma = line.find(", ", pos);
      f.push_back(line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 2;
    }
    if (f.size() != 10 || f[2] == "data.consumed.in.MB") continue;
    PerfLine p;
    p.mb = std::atof(f[2].c_str());
    p.mb_per_s = std::atof(f[3].c_str());
    p.records = std::atof(f[4].c_str());
    p.records_per_s = std::atof(f[5].c_str());
    p.rebalance_ms = std::atof(f[6].c_str());
    p.fetch_ms = std::atof(f[7].c_str());
    p.fetch_mb_per_s = std::atof(f[8].c_str());
    p.fetch_records_per_s = std::atof(f[9].c_str());
    p.start_ms = ParseKafkaTime(f[0]);
    p.end_ms = ParseKafkaTime(f[1]);
    p.timed_out = timed_out;
    found = p;
  }
  return found;
}

struct PerfRound {
  PerfLine single;
  double single_wall_ms = 0;
  std::vector<PerfLine> members;
  double group_wall_ms = 0;
};

std::vector<std::string> PerfArgs(const std::string& bootstrap, const std::string& topic,
                                  int64_t messages, const std::string& group, int timeout_ms) {
  std::vector<std::string> args = {"consumer-perf-test",
                                   "--bootstrap-server",
                                   bootstrap,
                                   "--topic",
                                   topic,
                                   "--messages",
                                   std::to_string(messages),
                                   "--timeout",
                                   std::to_string(timeout_ms)};
  if (!group.empty()) {
    args.push_back("--group");
    args.push_back(group);
  }
  return args;
}

bool RunPerfRound(const StrataCluster& cluster, const std::string& topic, int64_t records,
                  int round, int group_size, int timeout_ms, PerfRound* out) {
  const std::string dir = cluster.dir();
  // One process alone, in a group of its own (no --group, as Kafka).
  {
    CliProcess p;
    const std::string log = dir + "/perf-single-" + std::to_string(round) + ".txt";
    if (!p.Start(PerfArgs(cluster.bootstrap_all(), topic, records, "", timeout_ms), log) ||
        !p.Wait(600000)) {
      std::fprintf(stderr, "single consumer-perf-test did not finish\n");
      return false;
    }
    std::optional<PerfLine> line = ParsePerf(p.Output());
    if (p.exit_code() != 0 || !line.has_value()) {
      std::fprintf(stderr, "single consumer-perf-test failed (exit %d): %s\n", p.exit_code(),
                   p.Output().c_str());
      return false;
    }
    out->single = *line;
    out->single_wall_ms = MsSince(p.started(), p.ended());
  }
  // `group_size` processes in one group, each counting a share.
  {
    std::vector<std::unique_ptr<CliProcess>> procs;
    const std::string group = "perf-group-" + std::to_string(round);
    const int64_t share = records / group_size;
    for (int i = 0; i < group_size; ++i) {
      procs.push_back(std::make_unique<CliProcess>());
      const std::string log =
          dir + "/perf-group-" + std::to_string(round) + "-" + std::to_string(i) + ".txt";
      if (!procs.back()->Start(PerfArgs(cluster.bootstrap_all(), topic, share, group, timeout_ms),
                               log)) {
        return false;
      }
    }
    Clock::time_point last_end = procs.front()->started();
    for (auto& p : procs) {
      if (!p->Wait(600000)) {
        std::fprintf(stderr, "a group consumer-perf-test did not finish\n");
        return false;
      }
      last_end = std::max(last_end, p->ended());
      std::optional<PerfLine> line = ParsePerf(p->Output());
      if (p->exit_code() != 0 || !line.has_value()) {
        std::fprintf(stderr, "group consumer-perf-test failed (exit %d): %s\n", p->exit_code(),
                     p->Output().c_str());
        return false;
      }
      out->members.push_back(*line);
    }
    out->group_wall_ms = MsSince(procs.front()->started(), last_end);
  }
  return true;
}

bool Produce(const StrataCluster& cluster, const std::string& topic, int64_t records,
             double* rate) {
  CliProcess p;
  const std::string log = cluster.dir() + "/produce.txt";
  if (!p.Start({"producer-perf-test", "--topic", topic, "--num-records", std::to_string(records),
                "--record-size", "100", "--throughput", "-1", "--producer-props",
                "bootstrap.servers=" + cluster.bootstrap_all(), "acks=all", "batch.size=65536",
                "linger.ms=5"},
               log) ||
      !p.Wait(1800000) || p.exit_code() != 0) {
    std::fprintf(stderr, "producer-perf-test failed: %s\n", p.Output().c_str());
    return false;
  }
  const std::string out = p.Output();
  const size_t sent = out.rfind(" records sent, ");
  if (sent == std::string::npos) return false;
  *rate = std::atof(out.c_str() + sent + std::string(" records sent, ").size());
  return true;
}

// ---------------------------------------------------------------- main

struct Flags {
  std::vector<int> members = {3, 10, 50};
  std::vector<int> heartbeats = {3000, 500};
  int repeats = 5;
  int partitions = 60;
  int64_t records = 3000000;
  int perf_rounds = 3;
  int perf_timeout_ms = 10000;
  uint32_t seed = 1;  // of the heartbeat-phase waits in (a)
  // group.initial.rebalance.delay.ms of (b)'s clusters: Kafka's default,
  // and none (what (a) uses).
  std::vector<int> perf_initial_delays = {3000, 0};
  bool join = true;
  bool perf = true;
};

bool CreateTopic(const StrataCluster& cluster, const std::string& topic, int partitions, int rf) {
  CliResult created = cluster.Cli({"topics", "--bootstrap-server", cluster.bootstrap(1), "--create",
                                   "--topic", topic, "--partitions", std::to_string(partitions),
                                   "--replication-factor", std::to_string(rf)});
  if (created.exit_code != 0) {
    std::fprintf(stderr, "create %s: %s\n", topic.c_str(), created.err.c_str());
    return false;
  }
  return true;
}

bool JoinTables(StrataCluster& cluster, const Flags& flags) {
  const std::string topic = "group-bench-join";
  if (!CreateTopic(cluster, topic, flags.partitions, 1)) return false;
  std::printf(
      "(a) one member joins a Stable group of N: from its Subscribe() until every member "
      "has returned from OnPartitionsAssigned\n    for one generation with a complete, "
      "balanced assignment (%d partitions, empty topic); then it leaves (Close):\n    "
      "until the N are Stable again. ms over %d repeats; rounds = generations the join "
      "took.\n\n",
      flags.partitions, flags.repeats);
  std::printf("%-19s %6s %4s | %8s %8s %8s | %6s | %8s %8s %8s | %9s\n", "assignor", "hb ms", "N",
              "join min", "median", "max", "rounds", "leave min", "median", "max", "form ms");
  std::fflush(stdout);
  bool ok = true;
  int group_no = 0;
  for (int hb : flags.heartbeats) {
    for (const std::string strategy : {"range", "cooperative-sticky"}) {
      for (int n : flags.members) {
        GroupCase c{cluster.bootstrap_all(), "join-" + std::to_string(group_no++), topic, strategy,
                    hb};
        JoinFigures f;
        const bool case_ok =
            RunJoinCase(c, n, flags.partitions, flags.repeats, flags.seed + group_no, &f);
        ok = case_ok && ok;
        const Summary j = Summarize(f.join_ms);
        const Summary l = Summarize(f.leave_ms);
        std::vector<double> rounds(f.join_rounds.begin(), f.join_rounds.end());
        const Summary r = Summarize(rounds);
        std::string rounds_text =
            r.n == 0         ? "-"
            : r.min == r.max ? std::to_string(int(r.min))
                             : std::to_string(int(r.min)) + "-" + std::to_string(int(r.max));
        std::printf("%-19s %6d %4d | %8.0f %8.0f %8.0f | %6s | %8.0f %8.0f %8.0f | %9.0f%s\n",
                    strategy.c_str(), hb, n, j.min, j.median, j.max, rounds_text.c_str(), l.min,
                    l.median, l.max, f.form_ms,
                    f.lost > 0 ? ("  (" + std::to_string(f.lost) + " lost)").c_str() : "");
        for (const std::string& e : f.errors) std::printf("    ! %s\n", e.c_str());
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n");
  return ok;
}

// (b) on a fresh cluster whose brokers have `initial_delay_ms` as
// group.initial.rebalance.delay.ms.
bool PerfTable(const Flags& flags, int initial_delay_ms) {
  StrataCluster cluster(3, {"group.initial.rebalance.delay.ms=" + std::to_string(initial_delay_ms),
                            "offsets.topic.num.partitions=6"});
  cluster.StartAll();
  if (!cluster.WaitReady(3)) {
    std::fprintf(stderr, "cluster not ready; logs in %s\n", cluster.dir().c_str());
    cluster.KeepData();
    return false;
  }
  const std::string topic = "group-bench-perf";
  const int group_size = 3;
  double produce_rate = 0;
  if (!CreateTopic(cluster, topic, 6, 3) ||
      !Produce(cluster, topic, flags.records, &produce_rate)) {
    cluster.KeepData();
    return false;
  }
  // The first group to look for a coordinator creates the offsets topic; a
  // warm-up read keeps that out of the first round.
  {
    CliProcess warm;
    if (!warm.Start(PerfArgs(cluster.bootstrap_all(), topic, 1, "warm-up", 5000),
                    cluster.dir() + "/perf-warm-up.txt") ||
        !warm.Wait(120000) || warm.exit_code() != 0) {
      std::fprintf(stderr, "warm-up consumer-perf-test failed: %s\n", warm.Output().c_str());
      cluster.KeepData();
      return false;
    }
  }
  std::printf(
      "(b) group.initial.rebalance.delay.ms=%d: consumer-perf-test over %lld records of "
      "100 B on 6 partitions\n    (RF 3, produced at %.0f records/s, acks=all); medians of "
      "%d rounds. \"alone\": one process, a group of its own;\n    \"group\": %d "
      "processes started together, one --group, --messages %lld each; --timeout %d.\n\n",
      initial_delay_ms, static_cast<long long>(flags.records), produce_rate, flags.perf_rounds,
      group_size, static_cast<long long>(flags.records / group_size), flags.perf_timeout_ms);
  std::vector<double> single_rps, single_mbps, single_fetch_rps, single_reb, single_wall;
  std::vector<double> sum_rps, sum_mbps, sum_fetch_rps, agg_rps, agg_mbps, span, group_wall;
  std::vector<double> max_reb;
  std::vector<std::string> shares;
  for (int round = 0; round < flags.perf_rounds; ++round) {
    PerfRound r;
    if (!RunPerfRound(cluster, topic, flags.records, round, group_size, flags.perf_timeout_ms,
                      &r)) {
      cluster.KeepData();
      return false;
    }
    single_rps.push_back(r.single.records_per_s);
    single_mbps.push_back(r.single.mb_per_s);
    single_fetch_rps.push_back(r.single.fetch_records_per_s);
    single_reb.push_back(r.single.rebalance_ms);
    single_wall.push_back(r.single_wall_ms);
    double rps = 0, mbps = 0, fetch_rps = 0, records = 0, mb = 0, reb = 0;
    // From the first member's start.time to the last record anyone read:
    // a member that ended by --timeout read its last record that long
    // before its end.time.
    int64_t first_start = INT64_MAX, last_record = 0;
    std::string share;
    for (const PerfLine& m : r.members) {
      rps += m.records_per_s;
      mbps += m.mb_per_s;
      fetch_rps += m.fetch_records_per_s;
      records += m.records;
      mb += m.mb;
      reb = std::max(reb, m.rebalance_ms);
      first_start = std::min(first_start, m.start_ms);
      last_record = std::max(last_record, m.end_ms - (m.timed_out ? flags.perf_timeout_ms : 0));
      share += (share.empty() ? "" : " / ") + std::to_string(static_cast<long long>(m.records)) +
               (m.timed_out ? " (t)" : "") + " @" +
               std::to_string(static_cast<int>(m.rebalance_ms));
    }
    const double span_ms = std::max<int64_t>(1, last_record - first_start);
    sum_rps.push_back(rps);
    sum_mbps.push_back(mbps);
    sum_fetch_rps.push_back(fetch_rps);
    agg_rps.push_back(records * 1000.0 / span_ms);
    agg_mbps.push_back(mb * 1000.0 / span_ms);
    span.push_back(span_ms);
    group_wall.push_back(r.group_wall_ms);
    max_reb.push_back(reb);
    shares.push_back(share);
  }
  std::printf("%-46s %11s %8s %12s %13s %9s\n", "", "records/s", "MB/s", "fetch rec/s",
              "rebalance ms", "wall ms");
  std::printf("%-46s %11.0f %8.1f %12.0f %13.0f %9.0f\n", "alone: 1 process, its own group",
              Median(single_rps), Median(single_mbps), Median(single_fetch_rps), Median(single_reb),
              Median(single_wall));
  std::printf("%-46s %11.0f %8.1f %12.0f %13.0f %9s\n", "group of 3: sum of the members' lines",
              Median(sum_rps), Median(sum_mbps), Median(sum_fetch_rps), Median(max_reb), "");
  std::printf("%-46s %11.0f %8.1f %12s %13s %9.0f\n",
              "group of 3: all records / first start..last rec", Median(agg_rps), Median(agg_mbps),
              "", "", Median(group_wall));
  std::printf(
      "\n  rebalance ms: the tool's rebalance.time.ms (group: the largest of the three). "
      "wall ms: from starting the\n  process(es) until the last exited (process start, "
      "join, --timeout tails and Close included).\n");
  std::printf(
      "  per round, records each member read @ its rebalance.time.ms ((t): it ended by "
      "--timeout):\n");
  for (size_t i = 0; i < shares.size(); ++i) {
    std::printf(
        "    round %zu: %s   (first start..last record %.0f ms, wall %.0f ms; alone: "
        "wall %.0f ms)\n",
        i + 1, shares[i].c_str(), span[i], group_wall[i], single_wall[i]);
  }
  std::printf("\n");
  std::fflush(stdout);
  return true;
}

int Main(const Flags& flags) {
  const Clock::time_point start = Clock::now();
  bool ok = true;
  if (flags.join) {
    StrataCluster cluster(3,
                          {"group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=6"});
    cluster.StartAll();
    if (!cluster.WaitReady(3)) {
      std::fprintf(stderr, "cluster not ready; logs in %s\n", cluster.dir().c_str());
      cluster.KeepData();
      return 1;
    }
    std::printf(
        "group_bench: 3 local nodes (group.initial.rebalance.delay.ms=0, "
        "offsets.topic.num.partitions=6)\n\n");
    if (!JoinTables(cluster, flags)) {
      ok = false;
      cluster.KeepData();
      std::printf("something failed; logs kept in %s\n", cluster.dir().c_str());
    }
  }
  if (flags.perf) {
    for (int delay : flags.perf_initial_delays) ok = PerfTable(flags, delay) && ok;
  }
  std::printf("group_bench took %.0f s\n", MsSince(start, Clock::now()) / 1000);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace strata::testing

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_minloglevel = 1;  // the consumers' INFO lines would bury the tables
  strata::testing::Flags flags;
  auto usage = [] {
    std::fprintf(stderr,
                 "usage: group_bench [--members 3,10,50] [--heartbeats 3000,500] [--repeats 5] "
                 "[--partitions 60] [--records 3000000] [--perf-rounds 3] [--perf-timeout MS] "
                 "[--perf-initial-delays 3000,0] [--seed 1] [--skip-join] [--skip-perf]\n");
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--skip-join") {
      flags.join = false;
      continue;
    }
    if (arg == "--skip-perf") {
      flags.perf = false;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (arg == "--members") {
      flags.members = strata::testing::ParseList(v);
    } else if (arg == "--heartbeats") {
      flags.heartbeats = strata::testing::ParseList(v);
    } else if (arg == "--repeats") {
      flags.repeats = std::atoi(v.c_str());
    } else if (arg == "--partitions") {
      flags.partitions = std::atoi(v.c_str());
    } else if (arg == "--records") {
      flags.records = std::atoll(v.c_str());
    } else if (arg == "--perf-rounds") {
      flags.perf_rounds = std::atoi(v.c_str());
    } else if (arg == "--seed") {
      flags.seed = static_cast<uint32_t>(std::atoll(v.c_str()));
    } else if (arg == "--perf-initial-delays") {
      flags.perf_initial_delays = strata::testing::ParseList(v);
    } else if (arg == "--perf-timeout") {
      flags.perf_timeout_ms = std::atoi(v.c_str());
    } else {
      return usage();
    }
  }
  return strata::testing::Main(flags);
}
