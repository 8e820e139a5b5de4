// Consumer groups on real processes: a 3-node cluster of strata-server, the
// client's Consumer subscribing in a group, each member polling on its own
// thread. Checks that every produced id is consumed, that no partition has
// two owners at once (from the rebalance listeners' calls), that a closed
// member's partitions move to the others, that a second group reads
// everything on its own, and that cooperative-sticky rebalancing never
// revokes a partition a member keeps.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/consumer.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using strata::TopicPartition;

std::string Names(const std::vector<TopicPartition>& tps) {
  std::string out;
  for (const auto& tp : tps) out += (out.empty() ? "" : " ") + tp.ToString();
  return out;
}

// What the members' listeners reported, and the ownership it implies.
class Ownership {
 public:
  void Assigned(const std::string& member, const std::vector<TopicPartition>& tps) {
    std::lock_guard<std::mutex> l(mu_);
    Log(member, "assigned", tps);
    for (const TopicPartition& tp : tps) {
      for (const auto& [other, owned] : owned_) {
        if (other != member && owned.contains(tp)) {
          violations_.push_back(tp.ToString() + " assigned to " + member + " while " + other +
                                " owns it");
        }
      }
      owned_[member].insert(tp);
    }
  }
  void Revoked(const std::string& member, const std::vector<TopicPartition>& tps) {
    std::lock_guard<std::mutex> l(mu_);
    Log(member, "revoked", tps);
    for (const TopicPartition& tp : tps) {
      owned_[member].erase(tp);
      revoked_[member].push_back(tp);
    }
  }
  void Lost(const std::string& member, const std::vector<TopicPartition>& tps) {
    std::lock_guard<std::mutex> l(mu_);
    Log(member, "lost", tps);
    ++lost_events_;
    for (const TopicPartition& tp : tps) owned_[member].erase(tp);
  }

  std::map<std::string, std::set<TopicPartition>> owned() const {
    std::lock_guard<std::mutex> l(mu_);
    return owned_;
  }
  std::vector<TopicPartition> revoked(const std::string& member) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = revoked_.find(member);
    return it == revoked_.end() ? std::vector<TopicPartition>() : it->second;
  }
  std::vector<std::string> violations() const {
    std::lock_guard<std::mutex> l(mu_);
    return violations_;
  }
  int lost_events() const {
    std::lock_guard<std::mutex> l(mu_);
    return lost_events_;
  }
  // Every one of `members` owns between `min` and `max` partitions and
  // together they own exactly `total` distinct ones.
  bool Balanced(const std::vector<std::string>& members, size_t total, size_t min,
                size_t max) const {
    std::lock_guard<std::mutex> l(mu_);
    std::set<TopicPartition> all;
    size_t sum = 0;
    for (const std::string& m : members) {
      auto it = owned_.find(m);
      const size_t n = it == owned_.end() ? 0 : it->second.size();
      if (n < min || n > max) return false;
      sum += n;
      if (it != owned_.end()) all.insert(it->second.begin(), it->second.end());
    }
    return sum == total && all.size() == total;
  }

 private:
  void Log(const std::string& member, const char* what, const std::vector<TopicPartition>& tps) {
    std::fprintf(stderr, "[listener] %s %s [%s]\n", member.c_str(), what, Names(tps).c_str());
  }

  mutable std::mutex mu_;
  std::map<std::string, std::set<TopicPartition>> owned_;
  std::map<std::string, std::vector<TopicPartition>> revoked_;
  std::vector<std::string> violations_;
  int lost_events_ = 0;
};

class Listener : public client::ConsumerRebalanceListener {
 public:
  Listener(std::string name, Ownership* ownership)
      : name_(std::move(name)), ownership_(ownership) {}
  void OnPartitionsRevoked(const std::vector<TopicPartition>& tps) override {
    ownership_->Revoked(name_, tps);
  }
  void OnPartitionsAssigned(const std::vector<TopicPartition>& tps) override {
    ownership_->Assigned(name_, tps);
  }
  void OnPartitionsLost(const std::vector<TopicPartition>& tps) override {
    ownership_->Lost(name_, tps);
  }

 private:
  const std::string name_;
  Ownership* const ownership_;
};

// Ids seen, by group.
class Seen {
 public:
  void Add(const std::string& group, const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    ++ids_[group][id];
  }
  size_t Distinct(const std::string& group) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = ids_.find(group);
    return it == ids_.end() ? 0 : it->second.size();
  }
  size_t Total(const std::string& group) const {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    auto it = ids_.find(group);
    if (it != ids_.end()) {
      for (const auto& [id, count] : it->second) n += count;
    }
    return n;
  }
  std::vector<std::string> Missing(const std::string& group,
                                   const std::vector<std::string>& expected) const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    auto it = ids_.find(group);
    for (const std::string& id : expected) {
      if (it == ids_.end() || !it->second.contains(id)) out.push_back(id);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, int>> ids_;
};

// One group member polling on its own thread; Close() on that thread when
// stopped.
class Member {
 public:
  // `topic` is a regular expression with `pattern`; `extra` overrides the
  // consumer properties.
  Member(const std::string& bootstrap, std::string group, std::string name, Ownership* ownership,
         Seen* seen, const std::string& topic, const std::string& strategy,
         const client::Properties& extra = {}, bool pattern = false)
      : group_(std::move(group)), name_(std::move(name)), listener_(name_, ownership), seen_(seen) {
    client::Properties props = {{"bootstrap.servers", bootstrap},
                                {"group.id", group_},
                                {"client.id", name_},
                                {"auto.offset.reset", "earliest"},
                                {"session.timeout.ms", "6000"},
                                {"heartbeat.interval.ms", "300"},
                                {"max.poll.interval.ms", "20000"},
                                {"auto.commit.interval.ms", "500"},
                                {"fetch.max.wait.ms", "200"},
                                {"partition.assignment.strategy", strategy}};
    for (const auto& [k, v] : extra) props[k] = v;
    auto config = client::ConsumerConfig::FromProperties(props, nullptr);
    EXPECT_TRUE(config.ok()) << config.status();
    auto consumer = client::Consumer::Create(*config);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = *std::move(consumer);
    thread_ = std::thread([this, topic, pattern] { Run(topic, pattern); });
  }
  ~Member() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string errors() const {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }
  const std::string& name() const { return name_; }

 private:
  void Run(const std::string& topic, bool pattern) {
    absl::Status s = pattern ? consumer_->Subscribe(std::regex(topic), &listener_)
                             : consumer_->Subscribe({topic}, &listener_);
    if (!s.ok()) Error(s);
    while (!stop_.load()) {
      auto records = consumer_->Poll(absl::Milliseconds(200));
      if (!records.ok()) {
        Error(records.status());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      for (const auto& r : *records) seen_->Add(group_, r.value.value_or(""));
    }
    consumer_->Close(absl::Seconds(10));
  }
  void Error(const absl::Status& s) {
    std::fprintf(stderr, "[%s] error: %s\n", name_.c_str(), s.ToString().c_str());
    std::lock_guard<std::mutex> l(mu_);
    errors_ += s.ToString() + "\n";
  }

  const std::string group_;
  const std::string name_;
  Listener listener_;
  Seen* const seen_;
  std::unique_ptr<client::Consumer> consumer_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string errors_;
  std::thread thread_;
};

class ConsumerGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  void CreateTopic(const std::string& topic, int partitions) {
    CliResult r = cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create",
                                "--topic", topic, "--partitions", std::to_string(partitions),
                                "--replication-factor", "3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Produces ids "<prefix>-0" ... and returns them once all are acknowledged.
  std::vector<std::string> Produce(const std::string& topic, const std::string& prefix, int n) {
    client::ProducerConfig pc;
    pc.bootstrap_servers = cluster_.bootstrap_all();
    pc.acks = -1;
    auto producer = client::Producer::Create(pc);
    EXPECT_TRUE(producer.ok()) << producer.status();
    std::atomic<int> failed{0};
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      client::ProducerRecord r;
      r.topic = topic;
      r.value = prefix + "-" + std::to_string(i);
      ids.push_back(*r.value);
      (*producer)->Send(std::move(r), [&](const absl::StatusOr<client::RecordMetadata>& md) {
        if (!md.ok()) ++failed;
      });
    }
    (*producer)->Flush();
    (*producer)->Close();
    EXPECT_EQ(failed.load(), 0);
    return ids;
  }

  StrataCluster cluster_{3,
                         {"group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=3",
                          "offsets.topic.replication.factor=3"}};
  Ownership ownership_;
  Seen seen_;
};

TEST_F(ConsumerGroupTest, MembersShareTopicHandOverOnCloseAndGroupsAreIndependent) {
  CreateTopic("orders", 6);
  const std::string strategy = "range,cooperative-sticky";  // Kafka 3.x's default: eager
  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(std::make_unique<Member>(cluster_.bootstrap_all(), "g1",
                                               "m" + std::to_string(i), &ownership_, &seen_,
                                               "orders", strategy));
  }
  // (a) Three members, two partitions each.
  ASSERT_TRUE(Eventually(
      [&] {
        return ownership_.Balanced({"m0", "m1", "m2"}, 6, 2, 2);
      },
      60000))
      << "the group never settled on 2 partitions per member";
  std::vector<std::string> ids = Produce("orders", "a", 600);
  ASSERT_TRUE(Eventually([&] { return seen_.Distinct("g1") == ids.size(); }, 60000))
      << seen_.Distinct("g1") << " of " << ids.size() << " consumed";

  // (b) A member closes (commits, leaves): the other two take its
  // partitions, three each, and go on from the committed positions.
  members[0]->Stop();
  ASSERT_TRUE(Eventually(
      [&] {
        return ownership_.Balanced({"m1", "m2"}, 6, 3, 3);
      },
      60000))
      << "the remaining members never took over m0's partitions";
  EXPECT_TRUE(ownership_.owned()["m0"].empty());
  std::vector<std::string> more = Produce("orders", "b", 600);
  ids.insert(ids.end(), more.begin(), more.end());
  ASSERT_TRUE(Eventually([&] { return seen_.Distinct("g1") == ids.size(); }, 60000))
      << seen_.Distinct("g1") << " of " << ids.size() << " consumed; first missing: "
      << (seen_.Missing("g1", ids).empty() ? "" : seen_.Missing("g1", ids).front());
  std::fprintf(stderr, "group g1: %zu distinct ids, %zu deliveries\n", seen_.Distinct("g1"),
               seen_.Total("g1"));

  // (c) Another group reads everything again, on its own.
  Ownership ownership2;  // ownership is per group
  auto other = std::make_unique<Member>(cluster_.bootstrap_all(), "g2", "other", &ownership2,
                                        &seen_, "orders", strategy);
  ASSERT_TRUE(Eventually([&] { return seen_.Distinct("g2") == ids.size(); }, 60000))
      << seen_.Distinct("g2") << " of " << ids.size() << " consumed by g2";
  EXPECT_TRUE(ownership2.Balanced({"other"}, 6, 6, 6));

  // Nothing was lost while the group ran. (Closing the members back to back
  // below may close one during the rebalance its predecessor's leave began;
  // like Kafka's consumer, it then reports its partitions lost, not revoked.)
  EXPECT_EQ(ownership_.lost_events(), 0);
  other->Stop();
  for (auto& m : members) m->Stop();
  EXPECT_TRUE(ownership_.violations().empty()) << ownership_.violations().front();
  EXPECT_TRUE(ownership2.violations().empty()) << ownership2.violations().front();
  for (auto& m : members) EXPECT_EQ(m->errors(), "") << m->name();
  EXPECT_EQ(other->errors(), "");
}

TEST_F(ConsumerGroupTest, CooperativeStickyNeverRevokesAKeptPartition) {
  CreateTopic("coop", 6);
  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(std::make_unique<Member>(cluster_.bootstrap_all(), "gc",
                                               "c" + std::to_string(i), &ownership_, &seen_, "coop",
                                               "cooperative-sticky"));
  }
  ASSERT_TRUE(Eventually(
      [&] {
        return ownership_.Balanced({"c0", "c1", "c2"}, 6, 2, 2);
      },
      60000))
      << "the group never settled on 2 partitions per member";
  const std::map<std::string, std::set<TopicPartition>> before = ownership_.owned();
  std::map<std::string, size_t> revoked_before;
  for (const auto& [m, owned] : before) revoked_before[m] = ownership_.revoked(m).size();

  std::vector<std::string> ids = Produce("coop", "x", 300);
  // (d) A fourth member joins: two members give up one partition each,
  // through a follow-up rebalance; nobody loses what it keeps.
  members.push_back(std::make_unique<Member>(cluster_.bootstrap_all(), "gc", "c3", &ownership_,
                                             &seen_, "coop", "cooperative-sticky"));
  ASSERT_TRUE(Eventually(
      [&] {
        return ownership_.Balanced({"c0", "c1", "c2", "c3"}, 6, 1, 2);
      },
      60000))
      << "the group never settled with the fourth member";
  std::vector<std::string> more = Produce("coop", "y", 300);
  ids.insert(ids.end(), more.begin(), more.end());
  ASSERT_TRUE(Eventually([&] { return seen_.Distinct("gc") == ids.size(); }, 60000))
      << seen_.Distinct("gc") << " of " << ids.size() << " consumed";

  const std::map<std::string, std::set<TopicPartition>> after = ownership_.owned();
  for (const std::string m : {"c0", "c1", "c2"}) {
    const std::set<TopicPartition>& was = before.at(m);
    const std::set<TopicPartition>& is = after.at(m);
    for (const TopicPartition& tp : is) {
      EXPECT_TRUE(was.contains(tp)) << m << " gained " << tp.ToString();
    }
    std::vector<TopicPartition> revoked = ownership_.revoked(m);
    for (size_t i = revoked_before[m]; i < revoked.size(); ++i) {
      EXPECT_FALSE(is.contains(revoked[i]))
          << m << " had " << revoked[i].ToString() << " revoked, yet keeps it";
    }
  }
  // Nothing was lost while the group ran (see the test above for why the
  // back-to-back closes below may report a loss).
  EXPECT_EQ(ownership_.lost_events(), 0);
  for (auto& m : members) m->Stop();
  EXPECT_TRUE(ownership_.violations().empty()) << ownership_.violations().front();
  for (auto& m : members) EXPECT_EQ(m->errors(), "") << m->name();
}

// The rebalance triggers besides members coming and going: partitions added
// to a subscribed topic, (with a pattern subscription) a newly created
// matching topic, and deleted topics. Members see metadata every second here
// (metadata.max.age.ms), so the changes are noticed soon.
TEST_F(ConsumerGroupTest, AddedPartitionsAndNewMatchingTopicsRebalanceTheGroup) {
  CreateTopic("grow", 2);
  const client::Properties fast_metadata = {{"metadata.max.age.ms", "1000"}};
  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < 2; ++i) {
    members.push_back(std::make_unique<Member>(cluster_.bootstrap_all(), "grow-group",
                                               "g" + std::to_string(i), &ownership_, &seen_, "grow",
                                               "range", fast_metadata));
  }
  ASSERT_TRUE(Eventually(
      [&] {
        return ownership_.Balanced({"g0", "g1"}, 2, 1, 1);
      },
      60000))
      << "two members never took one partition each";
  CliResult altered = cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1),
                                    "--alter", "--topic", "grow", "--partitions", "4"});
  ASSERT_EQ(altered.exit_code, 0) << altered.err;
  EXPECT_TRUE(Eventually(
      [&] {
        return ownership_.Balanced({"g0", "g1"}, 4, 2, 2);
      },
      60000))
      << "the partitions added were never assigned";

  Ownership patterned;
  auto watcher =
      std::make_unique<Member>(cluster_.bootstrap_all(), "pattern-group", "p0", &patterned, &seen_,
                               "pat-[a-z]+", "range", fast_metadata, /*pattern=*/true);
  CreateTopic("pat-a", 1);
  ASSERT_TRUE(Eventually([&] { return patterned.Balanced({"p0"}, 1, 1, 1); }, 60000))
      << "the matching topic pat-a was never assigned";
  CreateTopic("pat-b", 2);
  CreateTopic("other", 1);
  EXPECT_TRUE(Eventually([&] { return patterned.Balanced({"p0"}, 3, 3, 3); }, 60000))
      << "the new matching topic pat-b was never assigned (or 'other' was)";

  // Deleted topics leave the assignments: a subscribed one, and a matching
  // one.
  for (const char* topic : {"grow", "pat-b"}) {
    CliResult deleted = cluster_.Cli(
        {"topics", "--bootstrap-server", cluster_.bootstrap(1), "--delete", "--topic", topic});
    ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  }
  EXPECT_TRUE(Eventually(
      [&] {
        return ownership_.Balanced({"g0", "g1"}, 0, 0, 0);
      },
      60000))
      << "the deleted topic's partitions stayed assigned";
  EXPECT_TRUE(Eventually([&] { return patterned.Balanced({"p0"}, 1, 1, 1); }, 60000))
      << "the deleted matching topic's partitions stayed assigned";
  for (const auto& m : members) EXPECT_EQ(m->errors(), "") << m->name();
  EXPECT_EQ(watcher->errors(), "");
  EXPECT_TRUE(ownership_.violations().empty());
}

}  // namespace
}  // namespace strata::testing
