#include "tests/integration/strata_cluster.h"

#include <grpcpp/grpcpp.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> out = Lines(text);
  std::erase(out, std::string());
  return out;
}

bool Eventually(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

StrataCluster::StrataCluster(int nodes, std::vector<std::string> extra)
    : nodes_(nodes), extra_(std::move(extra)) {
  char tmpl[] = "/tmp/strata-cluster-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) std::abort();
  dir_ = tmpl;
  for (int n = 1; n <= nodes_; ++n) {
    client_port_[n] = PickFreePort();
    peer_port_[n] = PickFreePort();
    kafka_port_[n] = PickFreePort();
    voters_ +=
        (n > 1 ? "," : "") + std::to_string(n) + "@127.0.0.1:" + std::to_string(peer_port_[n]);
  }
  for (int n = 1; n <= nodes_; ++n) WriteProperties(n, "broker,controller", {});
}

void StrataCluster::WriteProperties(int n, const std::string& roles,
                                    const std::vector<std::string>& extra) {
  std::ofstream props(dir_ + "/node" + std::to_string(n) + ".properties");
  props << "node.id=" << n << "\n"
        << "process.roles=" << roles << "\n"
        << "listeners=PLAINTEXT://127.0.0.1:" << client_port_[n]
        << ",CONTROLLER://127.0.0.1:" << peer_port_[n] << ",KAFKA://127.0.0.1:" << kafka_port_[n]
        << "\n"
        << "controller.quorum.voters=" << voters_ << "\n"
        << "log.dirs=" << dir_ << "/node" << n << "/logs\n"
        << "metadata.log.dir=" << dir_ << "/node" << n << "/metadata\n"
        << "broker.session.timeout.ms=3000\n"
        << "broker.heartbeat.interval.ms=500\n";
  for (const std::string& line : extra_) props << line << "\n";
  for (const std::string& line : extra) props << line << "\n";
  auto channel = TestChannel(bootstrap(n));
  admin_[n] = v1::Admin::NewStub(channel);
  broker_[n] = v1::Broker::NewStub(channel);
}

int StrataCluster::AddBrokerOnlyNode(std::vector<std::string> extra) {
  const int n = client_port_.rbegin()->first + 1;
  client_port_[n] = PickFreePort();
  peer_port_[n] = PickFreePort();
  kafka_port_[n] = PickFreePort();
  WriteProperties(n, "broker", extra);
  return n;
}

std::vector<int> StrataCluster::nodes() const {
  std::vector<int> out;
  for (const auto& [n, port] : client_port_) out.push_back(n);
  return out;
}

std::string StrataCluster::peer_address(int node) const {
  return "127.0.0.1:" + std::to_string(peer_port_.at(node));
}

std::string StrataCluster::log_path(int node) const {
  return dir_ + "/node" + std::to_string(node) + ".log";
}

StrataCluster::~StrataCluster() {
  for (auto& [n, p] : procs_) p->Kill(SIGKILL);
  if (!keep_) std::filesystem::remove_all(dir_);
}

void StrataCluster::AppendProperty(int node, const std::string& line) {
  std::ofstream props(dir_ + "/node" + std::to_string(node) + ".properties", std::ios::app);
  props << line << "\n";
}

void StrataCluster::StartAll() {
  for (int n = 1; n <= nodes_; ++n) Start(n);
}

void StrataCluster::Start(int node) {
  procs_[node] = std::make_unique<ChildProcess>();
  const std::string n = std::to_string(node);
  procs_[node]->Start({STRATA_SERVER, dir_ + "/node" + n + ".properties"},
                      dir_ + "/node" + n + ".log");
}

void StrataCluster::Kill(int node) { procs_.at(node)->Kill(SIGKILL); }
void StrataCluster::Terminate(int node) { procs_.at(node)->Kill(SIGTERM); }
void StrataCluster::Pause(int node) { procs_.at(node)->Signal(SIGSTOP); }
void StrataCluster::Resume(int node) { procs_.at(node)->Signal(SIGCONT); }

bool StrataCluster::running(int node) const {
  auto it = procs_.find(node);
  return it != procs_.end() && it->second->running();
}

pid_t StrataCluster::pid(int node) const {
  auto it = procs_.find(node);
  return it != procs_.end() && it->second->running() ? it->second->pid() : -1;
}

std::map<int, PartitionLine> StrataCluster::Describe(const std::string& topic, int node) const {
  std::map<int, PartitionLine> out;
  CliResult r =
      Cli({"topics", "--bootstrap-server", bootstrap(node), "--describe", "--topic", topic});
  static const std::regex kLine(
      "\tTopic: [^\t]+\tPartition: ([0-9]+)\tLeader: ([0-9]+|none)\tReplicas: ([0-9,]+)"
      "\tIsr: ([0-9,]*).*");
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, kLine)) continue;
    PartitionLine p;
    p.leader = m[2] == "none" ? -1 : std::stoi(m[2]);
    p.replicas = m[3];
    std::istringstream isr(m[4]);
    for (std::string id; std::getline(isr, id, ',');) p.isr.push_back(std::stoi(id));
    out[std::stoi(m[1])] = p;
  }
  return out;
}

std::string StrataCluster::bootstrap(int node) const {
  return "127.0.0.1:" + std::to_string(client_port_.at(node));
}

int StrataCluster::kafka_port(int node) const { return kafka_port_.at(node); }

std::string StrataCluster::bootstrap_all() const {
  std::string out;
  for (int n = 1; n <= nodes_; ++n) out += (n > 1 ? "," : "") + bootstrap(n);
  return out;
}

int StrataCluster::ControllerSeenBy(int node) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  v1::DescribeClusterResponse resp;
  if (!admin(node)->DescribeCluster(&ctx, v1::DescribeClusterRequest(), &resp).ok()) return -1;
  return resp.controller_id();
}

int64_t StrataCluster::BrokerEpochSeenBy(int node, int broker, bool* unfenced) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  v1::DescribeClusterResponse resp;
  if (!admin(node)->DescribeCluster(&ctx, v1::DescribeClusterRequest(), &resp).ok()) return -1;
  for (const auto& b : resp.brokers()) {
    if (b.id() != broker) continue;
    if (unfenced != nullptr) *unfenced = !b.fenced();
    return b.broker_epoch();
  }
  return -1;
}

bool StrataCluster::WaitReregistered(int observer, int broker, int64_t old_epoch, int timeout_ms) {
  return Eventually(
      [&] {
        bool unfenced = false;
        return BrokerEpochSeenBy(observer, broker, &unfenced) > old_epoch && unfenced;
      },
      timeout_ms);
}

bool StrataCluster::WaitReady(int brokers, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    bool ready = true;
    for (int n : nodes()) {
      if (!ready) break;
      if (!running(n)) continue;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      v1::DescribeClusterResponse resp;
      if (!admin(n)->DescribeCluster(&ctx, v1::DescribeClusterRequest(), &resp).ok() ||
          resp.controller_id() < 0) {
        ready = false;
        break;
      }
      int live = 0;
      for (const auto& b : resp.brokers()) live += b.fenced() ? 0 : 1;
      ready = live >= brokers;
    }
    if (ready) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

CliResult StrataCluster::Cli(const std::vector<std::string>& args, const std::string& input) const {
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) return {};
  std::vector<std::string> argv = {STRATA_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    std::vector<char*> cargs;
    for (const std::string& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
    cargs.push_back(nullptr);
    execv(cargs[0], cargs.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty() && write(in[1], input.data(), input.size()) < 0) perror("write");
  close(in[1]);
  CliResult result;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < deadline) {
    if (poll(fds, 2, 200) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  if (open_fds > 0) kill(pid, SIGKILL);  // ran past its time
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

namespace {

// The active segment of a partition directory: the .log with the largest
// base offset (file names are 20-digit base offsets, so names sort).
std::filesystem::path ActiveSegment(const std::filesystem::path& dir) {
  std::filesystem::path last;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && (last.empty() || e.path().filename() > last.filename())) {
      last = e.path();
    }
  }
  return last;
}

// partition.checkpoint's recovery point (0 when absent or unreadable).
int64_t RecoveryPoint(const std::filesystem::path& dir) {
  std::ifstream in(dir / "partition.checkpoint");
  std::string line;
  std::getline(in, line);  // version
  std::getline(in, line);  // entry count
  for (std::string key; in >> key;) {
    int64_t value = 0;
    in >> value;
    if (key == "recovery-point") return value;
  }
  return 0;
}

int64_t BigEndian(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
  return width == 4 ? static_cast<int32_t>(v) : static_cast<int64_t>(v);
}

}  // namespace

std::string StrataCluster::partition_dir(int node, const std::string& topic, int partition) const {
  return dir_ + "/node" + std::to_string(node) + "/logs/" + topic + "-" + std::to_string(partition);
}

int64_t StrataCluster::CutUnflushedTails(int node,
                                         const std::function<size_t(size_t)>& pick) const {
  int64_t cut = 0;
  const std::filesystem::path logs = dir_ + "/node" + std::to_string(node) + "/logs";
  if (!std::filesystem::exists(logs)) return 0;
  for (const auto& d : std::filesystem::directory_iterator(logs)) {
    if (!d.is_directory()) continue;
    const std::filesystem::path segment = ActiveSegment(d.path());
    if (segment.empty()) continue;
    const int64_t recovery_point = RecoveryPoint(d.path());
    std::ifstream in(segment, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    // Batch starts at or after the recovery point, and the end: the places a
    // power cut may leave the file ending at.
    std::vector<size_t> boundaries;
    size_t pos = 0;
    while (pos + 12 <= bytes.size()) {
      const int64_t base = BigEndian(bytes, pos, 8);
      const int64_t length = BigEndian(bytes, pos + 8, 4);
      if (length <= 0 || pos + 12 + static_cast<size_t>(length) > bytes.size()) break;
      if (base >= recovery_point) boundaries.push_back(pos);
      pos += 12 + static_cast<size_t>(length);
    }
    boundaries.push_back(pos);
    const size_t keep = boundaries[std::min(pick(boundaries.size()), boundaries.size() - 1)];
    cut += static_cast<int64_t>(boundaries.size()) - 1 -
           (std::find(boundaries.begin(), boundaries.end(), keep) - boundaries.begin());
    std::filesystem::resize_file(segment, keep);
  }
  return cut;
}

int64_t StrataCluster::CutActiveSegment(int node, const std::string& topic, int partition,
                                        double fraction) const {
  const std::filesystem::path dir = partition_dir(node, topic, partition);
  if (!std::filesystem::exists(dir)) return -1;
  const std::filesystem::path segment = ActiveSegment(dir);
  if (segment.empty()) return -1;
  const auto size = static_cast<int64_t>(std::filesystem::file_size(segment) * fraction);
  std::filesystem::resize_file(segment, static_cast<uintmax_t>(size));
  return size;
}

}  // namespace strata::testing
