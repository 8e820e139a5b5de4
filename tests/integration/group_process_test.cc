// Consumer groups with every member a process of its own (group_member.cc)
// on a 3-node cluster of strata-server, so that members and brokers can be
// killed with SIGKILL (issue 11, acceptance 2 and 3):
//  - three members share a topic while a producer writes; a member killed
//    loses its partitions to the others after session.timeout.ms, a static
//    member killed and restarted within its session gets its partitions
//    back in the same generation without the others noticing, every id is
//    consumed, and a second group reads every id on its own;
//  - the coordinator's broker is killed while members consume and commit:
//    they find the next coordinator and go on, and no committed offset ever
//    goes backwards.
// Ownership is derived from the members' ASSIGNED / REVOKED / LOST lines;
// each line carries the member's CLOCK_MONOTONIC time, which this process
// shares, so the lines of all members can be put in one order.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/admin.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

constexpr int kPartitions = 6;
constexpr int kSessionMs = 6000;
constexpr int kHeartbeatMs = 1000;
constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Seconds(int64_t us) { return static_cast<double>(us) / 1e6; }

// One line of a member's stdout.
struct Event {
  int64_t us = 0;
  std::string kind;          // ASSIGNED, REVOKED, LOST, RECORD, COMMITTED, COMMIT_FAILED, ...
  int32_t generation = -1;   // ASSIGNED, REVOKED, LOST
  std::set<int> partitions;  // ASSIGNED, REVOKED, LOST
  int partition = -1;        // RECORD
  int64_t offset = -1;       // RECORD
  std::string value;         // RECORD
  std::map<int, int64_t> committed;  // COMMITTED
  std::string line;
};

// "topic-3,topic-5" -> {3, 5}.
std::set<int> ParsePartitions(const std::string& list) {
  std::set<int> out;
  for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int p = -1;
    const size_t dash = name.rfind('-');
    if (dash != absl::string_view::npos && absl::SimpleAtoi(name.substr(dash + 1), &p)) {
      out.insert(p);
    }
  }
  return out;
}

// Lines that are not events (the client's log on stderr) give nullopt.
std::optional<Event> ParseEvent(const std::string& line) {
  std::istringstream in(line);
  Event e;
  e.line = line;
  std::string us;
  if (!(in >> us >> e.kind) || !absl::SimpleAtoi(us, &e.us)) return std::nullopt;
  if (e.kind == "ASSIGNED" || e.kind == "REVOKED" || e.kind == "LOST") {
    std::string gen, list;
    in >> gen >> list;
    if (gen.rfind("gen=", 0) != 0 || !absl::SimpleAtoi(gen.substr(4), &e.generation)) {
      return std::nullopt;
    }
    e.partitions = ParsePartitions(list);
  } else if (e.kind == "RECORD") {
    if (!(in >> e.partition >> e.offset >> e.value)) return std::nullopt;
  } else if (e.kind == "COMMITTED") {
    std::string list;
    in >> list;
    for (absl::string_view pair : absl::StrSplit(list, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(pair, '=');
      int p = -1;
      int64_t offset = -1;
      if (!absl::SimpleAtoi(kv.first, &p) || !absl::SimpleAtoi(kv.second, &offset)) {
        return std::nullopt;
      }
      e.committed[p] = offset;
    }
  } else if (e.kind != "COMMIT_FAILED" && e.kind != "POLL_FAILED" && e.kind != "CLOSED") {
    return std::nullopt;
  }
  return e;
}

// One group_member process. `owner` names the member across restarts (a
// static member's instance); `name` the process.
class MemberProcess {
 public:
  MemberProcess(std::string name, std::string owner, std::string group, std::string log)
      : name_(std::move(name)),
        owner_(std::move(owner)),
        group_(std::move(group)),
        log_(std::move(log)) {}

  bool Start(const std::vector<std::string>& argv) { return proc_.Start(argv, log_); }

  // SIGKILL; ownership ends when the process is gone (reaped), after its
  // last line.
  void Kill() {
    proc_.Kill(SIGKILL);
    killed_us_ = NowUs();
  }
  void SignalTerm() { proc_.Signal(SIGTERM); }
  // SIGTERM, then SIGKILL if it has not exited within 10 s.
  void Stop() { proc_.Kill(SIGTERM); }
  bool running() const { return proc_.running(); }

  // Every event so far (reads what was appended since the last call).
  const std::vector<Event>& Events() {
    std::ifstream in(log_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(read_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    read_ += chunk.size();
    partial_ += chunk;
    size_t start = 0;
    for (size_t nl = partial_.find('\n'); nl != std::string::npos;
         nl = partial_.find('\n', start)) {
      std::optional<Event> e = ParseEvent(partial_.substr(start, nl - start));
      if (e.has_value()) events_.push_back(*std::move(e));
      start = nl + 1;
    }
    partial_.erase(0, start);
    return events_;
  }

  // The partitions owned now (per the last lines) and the generation of
  // the last ASSIGNED line (-1: none).
  std::set<int> Owned(int32_t* generation = nullptr, int64_t* assigned_us = nullptr) {
    std::set<int> owned;
    int32_t gen = -1;
    int64_t at = -1;
    for (const Event& e : Events()) {
      if (e.kind == "ASSIGNED") {
        owned.insert(e.partitions.begin(), e.partitions.end());
        gen = e.generation;
        at = e.us;
      } else if (e.kind == "REVOKED" || e.kind == "LOST") {
        for (int p : e.partitions) owned.erase(p);
      }
    }
    if (killed_us_ >= 0) owned.clear();
    if (generation != nullptr) *generation = gen;
    if (assigned_us != nullptr) *assigned_us = at;
    return owned;
  }

  int Count(const std::string& kind, int64_t after_us = -1) {
    int n = 0;
    for (const Event& e : Events()) n += e.kind == kind && e.us > after_us;
    return n;
  }

  const std::string& name() const { return name_; }
  const std::string& owner() const { return owner_; }
  const std::string& group() const { return group_; }
  const std::string& log() const { return log_; }
  // When the process was killed, or kForever.
  int64_t end_us() const { return killed_us_ >= 0 ? killed_us_ : kForever; }

 private:
  const std::string name_;
  const std::string owner_;
  const std::string group_;
  const std::string log_;
  ChildProcess proc_;
  int64_t killed_us_ = -1;
  size_t read_ = 0;
  std::string partial_;
  std::vector<Event> events_;
};

// Writes "<prefix>-<n>" ids, `per_tick` every 100 ms, on its own thread,
// until `total` (or, with total 0, until Finish()).
class PacedProducer {
 public:
  PacedProducer(const std::string& bootstrap, std::string topic, std::string prefix, int total,
                int per_tick)
      : topic_(std::move(topic)), prefix_(std::move(prefix)), total_(total), per_tick_(per_tick) {
    client::ProducerConfig pc;
    pc.bootstrap_servers = bootstrap;
    pc.acks = -1;
    auto producer = client::Producer::Create(pc);
    EXPECT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    thread_ = std::thread([this] { Run(); });
  }
  ~PacedProducer() { Finish(); }

  // Stops writing, waits for every answer; the ids written.
  std::vector<std::string> Finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (producer_ != nullptr) {
      producer_->Flush();
      producer_->Close();
    }
    return ids_;
  }
  int failed() const { return failed_.load(); }
  int sent() const { return sent_.load(); }
  bool done() const { return sent_.load() >= total_ && total_ > 0; }

 private:
  void Run() {
    for (int i = 0; !stop_.load() && (total_ == 0 || i < total_);) {
      for (int k = 0; k < per_tick_ && (total_ == 0 || i < total_); ++k, ++i) {
        client::ProducerRecord r;
        r.topic = topic_;
        r.value = prefix_ + "-" + std::to_string(i);
        ids_.push_back(*r.value);
        producer_->Send(std::move(r), [this](const absl::StatusOr<client::RecordMetadata>& md) {
          if (!md.ok()) {
            ++failed_;
            std::fprintf(stderr, "produce failed: %s\n", md.status().ToString().c_str());
          }
        });
        ++sent_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  const std::string topic_;
  const std::string prefix_;
  const int total_;
  const int per_tick_;
  std::unique_ptr<client::Producer> producer_;
  std::vector<std::string> ids_;  // the writer thread's until Finish()
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_{0};
  std::atomic<int> sent_{0};
  std::thread thread_;
};

class GroupProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
    client::AdminConfig ac;
    ac.bootstrap_servers = cluster_.bootstrap_all();
    auto admin = client::Admin::Create(ac);
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *std::move(admin);
  }
  void TearDown() override {
    StopMembers(members_);
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node and member logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  void CreateTopic(const std::string& topic) {
    auto created = admin_->CreateTopic(topic, kPartitions, 3, {});
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_EQ(created->error(), v1::NONE) << created->error_message();
  }

  MemberProcess* StartMember(const std::string& name, const std::string& owner,
                             const std::string& group, const std::string& topic,
                             const std::vector<std::string>& extra = {}) {
    auto m = std::make_unique<MemberProcess>(name, owner, group,
                                             cluster_.dir() + "/member-" + name + ".log");
    std::vector<std::string> argv = {GROUP_MEMBER,
                                     "--bootstrap",
                                     cluster_.bootstrap_all(),
                                     "--group",
                                     group,
                                     "--topic",
                                     topic,
                                     "--client-id",
                                     name,
                                     "--session-timeout-ms",
                                     std::to_string(kSessionMs),
                                     "--heartbeat-ms",
                                     std::to_string(kHeartbeatMs)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    EXPECT_TRUE(m->Start(argv)) << name;
    members_.push_back(std::move(m));
    return members_.back().get();
  }

  // SIGTERM to all at once, then waits for each (SIGKILL after 10 s);
  // whether each wrote CLOSED.
  static void StopMembers(const std::vector<std::unique_ptr<MemberProcess>>& members,
                          std::vector<std::string>* unclean = nullptr) {
    for (const auto& m : members) {
      if (m->running()) m->SignalTerm();
    }
    for (const auto& m : members) {
      if (!m->running()) continue;
      m->Stop();
      if (unclean != nullptr && m->Count("CLOSED") == 0) unclean->push_back(m->name());
    }
  }

  // Each of `members` owns `each` partitions in one generation, and
  // together all of them. The generation, or -1; `settled_us` gets the
  // time of the last ASSIGNED line.
  static int32_t Settled(const std::vector<MemberProcess*>& members, size_t each,
                         int64_t* settled_us = nullptr) {
    std::set<int> all;
    std::set<int32_t> gens;
    int64_t last = -1;
    for (MemberProcess* m : members) {
      int32_t gen = -1;
      int64_t at = -1;
      std::set<int> owned = m->Owned(&gen, &at);
      if (owned.size() != each) return -1;
      all.insert(owned.begin(), owned.end());
      gens.insert(gen);
      last = std::max(last, at);
    }
    if (all.size() != static_cast<size_t>(kPartitions) || gens.size() != 1) return -1;
    if (settled_us != nullptr) *settled_us = last;
    return *gens.begin();
  }

  // The members of `group`, and of it alone.
  std::vector<MemberProcess*> Group(const std::string& group) {
    std::vector<MemberProcess*> out;
    for (const auto& m : members_) {
      if (m->group() == group) out.push_back(m.get());
    }
    return out;
  }

  // Distinct ids consumed by `group`'s members.
  std::set<std::string> Consumed(const std::string& group) {
    std::set<std::string> ids;
    for (MemberProcess* m : Group(group)) {
      for (const Event& e : m->Events()) {
        if (e.kind == "RECORD") ids.insert(e.value);
      }
    }
    return ids;
  }

  // Ownership safety of `group`, from its members' lines:
  //  - in one generation no partition is ASSIGNED to two members (owners);
  //  - at no time do two processes own a partition (from ASSIGNED to
  //    REVOKED / LOST, or to the process's SIGKILL);
  //  - a process returns records only of partitions it owns, and never the
  //    same record twice within one ownership.
  // Returns the violations; counts records and duplicates.
  std::vector<std::string> CheckOwnership(const std::string& group, size_t* records,
                                          size_t* duplicates, std::string* breakdown) {
    std::vector<std::string> violations;
    struct Interval {
      std::string proc;
      int partition;
      int64_t from, to;
    };
    std::vector<Interval> intervals;
    std::map<int32_t, std::map<int, std::set<std::string>>> by_generation;
    // (partition, offset) -> (when, by whom)
    std::map<std::pair<int, int64_t>, std::vector<std::pair<int64_t, std::string>>> deliveries;
    for (MemberProcess* m : Group(group)) {
      std::map<int, int64_t> open;                         // partition -> since
      std::map<int, std::set<int64_t>> seen_in_ownership;  // partition -> offsets
      for (const Event& e : m->Events()) {
        if (e.us > m->end_us()) {
          violations.push_back(m->name() + " printed after its SIGKILL: " + e.line);
        }
        if (e.kind == "ASSIGNED") {
          for (int p : e.partitions) {
            by_generation[e.generation][p].insert(m->owner());
            if (!open.contains(p)) open[p] = e.us;
            seen_in_ownership[p].clear();
          }
        } else if (e.kind == "REVOKED" || e.kind == "LOST") {
          for (int p : e.partitions) {
            auto it = open.find(p);
            if (it == open.end()) {
              violations.push_back(m->name() + " gave up a partition it did not own: " + e.line);
              continue;
            }
            intervals.push_back({m->name(), p, it->second, e.us});
            open.erase(it);
          }
        } else if (e.kind == "RECORD") {
          deliveries[{e.partition, e.offset}].emplace_back(e.us, m->name());
          if (!open.contains(e.partition)) {
            violations.push_back(m->name() +
                                 " returned a record of a partition it does not own: " + e.line);
          } else if (!seen_in_ownership[e.partition].insert(e.offset).second) {
            violations.push_back(m->name() +
                                 " returned a record twice in one ownership: " + e.line);
          }
        }
      }
      for (const auto& [p, since] : open) intervals.push_back({m->name(), p, since, m->end_us()});
    }
    for (const auto& [gen, owners] : by_generation) {
      for (const auto& [p, who] : owners) {
        if (who.size() > 1) {
          std::string names;
          for (const std::string& w : who) names += " " + w;
          violations.push_back("generation " + std::to_string(gen) + " assigns partition " +
                               std::to_string(p) + " to" + names);
        }
      }
    }
    for (size_t i = 0; i < intervals.size(); ++i) {
      for (size_t j = i + 1; j < intervals.size(); ++j) {
        const Interval& a = intervals[i];
        const Interval& b = intervals[j];
        if (a.partition == b.partition && a.proc != b.proc && a.from < b.to && b.from < a.to) {
          violations.push_back("partition " + std::to_string(a.partition) + " owned by " + a.proc +
                               " and " + b.proc + " at once");
        }
      }
    }
    *records = 0;
    *duplicates = 0;
    // Duplicates by the processes that delivered them ("m1>s-restarted").
    std::map<std::string, int> by_processes;
    for (auto& [key, who] : deliveries) {
      std::sort(who.begin(), who.end());
      *records += who.size();
      *duplicates += who.size() - 1;
      if (who.size() > 1) {
        std::string names;
        for (const auto& [us, w] : who) names += (names.empty() ? "" : ">") + w;
        ++by_processes[names];
      }
    }
    breakdown->clear();
    for (const auto& [names, n] : by_processes) {
      *breakdown += (breakdown->empty() ? "" : ", ") + names + ": " + std::to_string(n);
    }
    return violations;
  }

  StrataCluster cluster_{
      3,
      {"group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=6",
       "offsets.topic.replication.factor=3", "group.min.session.timeout.ms=1000"}};
  std::unique_ptr<client::Admin> admin_;
  std::vector<std::unique_ptr<MemberProcess>> members_;
};

// Acceptance 2.
TEST_F(GroupProcessTest, KilledMembersPartitionsMoveAfterSessionTimeoutStaticMemberKeepsItsOwn) {
  const std::string topic = "ids";
  CreateTopic(topic);
  MemberProcess* m1 = StartMember("m1", "m1", "G", topic);
  MemberProcess* m2 = StartMember("m2", "m2", "G", topic);
  MemberProcess* s = StartMember("s", "s", "G", topic, {"--instance-id", "static-s"});
  StartMember("x1", "x1", "G2", topic);
  int32_t gen0 = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        return (gen0 = Settled({m1, m2, s}, 2)) >= 0;
      },
      60000))
      << "group G never settled on 2 partitions per member";
  std::printf("G settled: generation %d, 2 partitions per member\n", gen0);

  PacedProducer producer(cluster_.bootstrap_all(), topic, "id", 3000, 20);  // ~15 s
  std::this_thread::sleep_for(std::chrono::seconds(2));

  // (a) A dynamic member SIGKILLed: the coordinator notices only when its
  // session expires, then the others share its partitions.
  const int64_t m2_killed = NowUs();
  m2->Kill();
  int32_t gen1 = -1;
  int64_t settled_us = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        return (gen1 = Settled({m1, s}, 3, &settled_us)) > gen0;
      },
      30000))
      << "the survivors never took over m2's partitions";
  const double takeover = Seconds(settled_us - m2_killed);
  std::printf(
      "takeover: from SIGKILL of m2 to m1 and s owning all %d partitions (generation %d): %.2f s "
      "(session.timeout.ms %d, heartbeat.interval.ms %d)\n",
      kPartitions, gen1, takeover, kSessionMs, kHeartbeatMs);
  // The session runs from the last heartbeat, up to one interval before
  // the kill; a takeover much sooner than that means the member was not
  // given its session.
  EXPECT_GE(takeover, (kSessionMs - kHeartbeatMs - 500) / 1000.0);
  EXPECT_LE(takeover, (kSessionMs + 10000) / 1000.0);

  // (b) The static member SIGKILLed and restarted within its session: the
  // same partitions, the same generation, and no rebalance for the others.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // s commits what it read
  const std::set<int> s_owned = s->Owned();
  const int64_t s_killed = NowUs();
  s->Kill();
  MemberProcess* s2 = StartMember("s-restarted", "s", "G", topic, {"--instance-id", "static-s"});
  ASSERT_TRUE(Eventually([&] { return s2->Count("ASSIGNED") > 0; }, 30000))
      << "the restarted static member got no assignment";
  int32_t s2_gen = -1;
  int64_t s2_assigned = -1;
  const std::set<int> s2_owned = s2->Owned(&s2_gen, &s2_assigned);
  std::printf(
      "static member: restarted and assigned %zu partitions in generation %d, %.2f s "
      "after its SIGKILL\n",
      s2_owned.size(), s2_gen, Seconds(s2_assigned - s_killed));
  EXPECT_EQ(s2_gen, gen1) << "the static member's return changed the generation";
  EXPECT_EQ(s2_owned, s_owned) << "the static member came back to other partitions";
  // Past the old process's session: its expiry must not rebalance either.
  std::this_thread::sleep_for(std::chrono::microseconds(
      std::max<int64_t>(0, s_killed + (kSessionMs + 2000) * 1000 - NowUs())));
  for (const std::string kind : {"ASSIGNED", "REVOKED", "LOST"}) {
    EXPECT_EQ(m1->Count(kind, s_killed), 0) << "m1 saw a rebalance: " << kind;
    EXPECT_EQ(s2->Count(kind), kind == "ASSIGNED" ? 1 : 0) << "s-restarted: " << kind;
  }

  // (c) Every id consumed by G, and by G2 on its own.
  ASSERT_TRUE(Eventually([&] { return producer.done(); }, 60000));
  const std::vector<std::string> ids = producer.Finish();
  EXPECT_EQ(producer.failed(), 0);
  for (const std::string group : {"G", "G2"}) {
    ASSERT_TRUE(Eventually([&] { return Consumed(group).size() >= ids.size(); }, 60000))
        << Consumed(group).size() << " of " << ids.size() << " ids consumed by " << group;
    const std::set<std::string> consumed = Consumed(group);
    for (const std::string& id : ids) ASSERT_TRUE(consumed.contains(id)) << group << " " << id;
    size_t records = 0, duplicates = 0;
    std::string breakdown;
    const std::vector<std::string> violations =
        CheckOwnership(group, &records, &duplicates, &breakdown);
    std::printf(
        "group %s: %zu ids written, %zu distinct consumed, %zu deliveries, %zu "
        "duplicates (by processes: %s)\n",
        group.c_str(), ids.size(), consumed.size(), records, duplicates, breakdown.c_str());
    EXPECT_TRUE(violations.empty())
        << violations.size() << " violations, first: " << violations.front();
  }

  std::vector<std::string> unclean;
  StopMembers(members_, &unclean);
  EXPECT_TRUE(unclean.empty()) << unclean.front() << " did not close on SIGTERM";
}

// Acceptance 3.
TEST_F(GroupProcessTest, MembersFollowTheCoordinatorsBrokerKilledAndCommitsNeverGoBack) {
  const std::string topic = "fo";
  const std::string group = "F";
  CreateTopic(topic);
  std::vector<MemberProcess*> group_members;
  for (const std::string name : {"f1", "f2", "f3"}) {
    group_members.push_back(StartMember(name, name, group, topic, {"--commit"}));
  }
  int32_t gen0 = -1;
  ASSERT_TRUE(Eventually([&] { return (gen0 = Settled(group_members, 2)) >= 0; }, 60000))
      << "group F never settled on 2 partitions per member";

  PacedProducer producer(cluster_.bootstrap_all(), topic, "fo", 0, 20);  // until Finish()
  ASSERT_TRUE(Eventually(
      [&] {
        for (MemberProcess* m : group_members) {
          if (m->Count("COMMITTED") == 0) return false;
        }
        return true;
      },
      30000))
      << "the members never committed";

  absl::StatusOr<v1::Coordinator> found = admin_->FindGroupCoordinator(group);
  ASSERT_TRUE(found.ok()) << found.status();
  const int coordinator = found->node_id();
  ASSERT_TRUE(coordinator >= 1 && coordinator <= 3) << coordinator;
  const int observer = coordinator % 3 + 1;
  const int64_t old_epoch = cluster_.BrokerEpochSeenBy(observer, coordinator);
  std::this_thread::sleep_for(std::chrono::seconds(1));

  const int64_t killed = NowUs();
  cluster_.Kill(coordinator);
  ASSERT_TRUE(Eventually(
      [&] {
        for (MemberProcess* m : group_members) {
          if (m->Count("COMMITTED", killed) == 0) return false;
        }
        return true;
      },
      60000))
      << "not every member committed after the coordinator's broker was killed";
  int64_t first_commit = kForever;
  for (MemberProcess* m : group_members) {
    for (const Event& e : m->Events()) {
      if (e.kind == "COMMITTED" && e.us > killed) first_commit = std::min(first_commit, e.us);
    }
  }
  std::printf(
      "coordinator failover: from SIGKILL of node %d (coordinator of %s) to the first "
      "commit accepted afterwards: %.2f s\n",
      coordinator, group.c_str(), Seconds(first_commit - killed));
  {
    // A fresh admin: the first one remembers the killed coordinator.
    client::AdminConfig ac;
    ac.bootstrap_servers = cluster_.bootstrap(observer);
    auto fresh = client::Admin::Create(ac);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    absl::StatusOr<v1::Coordinator> successor = (*fresh)->FindGroupCoordinator(group);
    ASSERT_TRUE(successor.ok()) << successor.status();
    std::printf("the coordinator of %s is now node %d\n", group.c_str(), successor->node_id());
    EXPECT_NE(successor->node_id(), coordinator);
  }
  int rebalance_lines = 0, failed_commits = 0;
  for (MemberProcess* m : group_members) {
    rebalance_lines +=
        m->Count("ASSIGNED", killed) + m->Count("REVOKED", killed) + m->Count("LOST", killed);
    failed_commits += m->Count("COMMIT_FAILED", killed);
  }
  std::printf("after the kill: %d rebalance lines, %d failed commits\n", rebalance_lines,
              failed_commits);

  // Records written after the failover are consumed too.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::vector<std::string> ids = producer.Finish();
  EXPECT_EQ(producer.failed(), 0);
  ASSERT_TRUE(Eventually([&] { return Consumed(group).size() >= ids.size(); }, 60000))
      << Consumed(group).size() << " of " << ids.size() << " ids consumed";
  const std::set<std::string> consumed = Consumed(group);
  for (const std::string& id : ids) ASSERT_TRUE(consumed.contains(id)) << id;
  size_t records = 0, duplicates = 0;
  std::string breakdown;
  const std::vector<std::string> violations =
      CheckOwnership(group, &records, &duplicates, &breakdown);
  std::printf(
      "group %s: %zu ids written, %zu distinct consumed, %zu deliveries, %zu "
      "duplicates (by processes: %s)\n",
      group.c_str(), ids.size(), consumed.size(), records, duplicates, breakdown.c_str());
  EXPECT_TRUE(violations.empty()) << violations.size()
                                  << " violations, first: " << violations.front();
  int records_after_kill = 0;
  for (MemberProcess* m : group_members) records_after_kill += m->Count("RECORD", killed);
  EXPECT_GT(records_after_kill, 0);

  std::vector<std::string> unclean;
  StopMembers(members_, &unclean);
  EXPECT_TRUE(unclean.empty()) << unclean.front() << " did not close on SIGTERM";

  // No committed offset ever went back: the acknowledged commits of all
  // members in time order, per partition, then the coordinator's answer.
  std::vector<std::pair<int64_t, std::map<int, int64_t>>> commits;
  for (MemberProcess* m : group_members) {
    for (const Event& e : m->Events()) {
      if (e.kind == "COMMITTED") commits.emplace_back(e.us, e.committed);
    }
  }
  std::sort(commits.begin(), commits.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::map<int, int64_t> last;
  int backwards = 0;
  for (const auto& [us, offsets] : commits) {
    for (const auto& [p, offset] : offsets) {
      if (last.contains(p) && offset < last[p]) {
        ++backwards;
        ADD_FAILURE() << "partition " << p << " committed " << offset << " after " << last[p];
      }
      last[p] = offset;
    }
  }
  std::printf("%zu acknowledged commits, %d went backwards\n", commits.size(), backwards);
  auto fetched = admin_->ListGroupOffsets(group);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  for (const auto& [p, offset] : last) {
    auto it = fetched->find(TopicPartition{topic, PartitionId(p)});
    ASSERT_NE(it, fetched->end()) << "no committed offset for partition " << p;
    EXPECT_GE(it->second, offset) << "partition " << p << ": the group's offset went back";
    std::printf("partition %d: last acknowledged commit %lld, OffsetFetch %lld\n", p,
                static_cast<long long>(offset), static_cast<long long>(it->second));
  }

  // The killed broker comes back.
  cluster_.Start(coordinator);
  EXPECT_TRUE(cluster_.WaitReregistered(observer, coordinator, old_epoch, 60000))
      << "node " << coordinator << " did not rejoin";
}

}  // namespace
}  // namespace strata::testing
