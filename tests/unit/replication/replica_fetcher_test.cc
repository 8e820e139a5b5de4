#include "broker/replication/replica_fetcher.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker/request/fetch_sessions.h"
#include "broker/storage/mem_file_system.h"
#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "tests/unit/metadata/records.h"
#include "tests/unit/replication/leader_reads.h"
#include "tests/unit/storage/test_batches.h"

namespace strata::replication {
namespace {

namespace records = metadata::testing;

constexpr char kTopicId[] = "BBBBBBBBBBBBBBBBBBBBBB";
constexpr char kOtherId[] = "CCCCCCCCCCCCCCCCCCCCCC";
// Every wait in these tests ends by then; a healthy run takes milliseconds.

// Values unique across the test, so logs that diverge differ in bytes.
std::string Batch(int n) {
  static std::atomic<int> next{0};
  return storage::testing::MakeBatch(next.fetch_add(n), n);
}

using testing::Eventually;

// The network between one follower and one leader, as tests see it.
struct Link {
  std::atomic<bool> up{true};
  // The leader lists its answer's partitions in the reverse of the
  // request's order (nothing promises the request's).
  std::atomic<bool> reverse_answers{false};
  std::atomic<int> fetches{0};
  std::atomic<int> epoch_queries{0};
  std::atomic<int> failures{0};
  // Calls parked in a long poll right now.
  std::atomic<int> polling{0};
  // Endpoints made for this link, and those not yet destroyed.
  std::atomic<int> created{0};
  std::atomic<int> live{0};
  // The leader's fetch sessions for this follower (the request layer's
  // cache, as the leader keeps it); null: the leader opens none.
  absl::Mutex mu;
  std::shared_ptr<request::FetchSessions> sessions ABSL_GUARDED_BY(mu);
  std::shared_ptr<request::FetchSessions> Sessions() {
    absl::MutexLock l(&mu);
    return sessions;
  }
  void SetSessions(std::shared_ptr<request::FetchSessions> s) {
    absl::MutexLock l(&mu);
    sessions = std::move(s);
  }
  // Fetches that opened a session, that the leader refused for their
  // session, and incremental ones that named no partition.
  std::atomic<int> opens{0};
  std::atomic<int> session_errors{0};
  std::atomic<int> empty_incremental{0};
  std::atomic<int> forgotten{0};
};

// The fetch as the request layer takes it (broker/server/replica_service.cc).
request::FetchRequest ToRequestLayer(const FetchRequest& f) {
  request::FetchRequest r;
  r.from_follower = true;
  r.replica_id = f.replica_id;
  r.session.open = f.session.open;
  r.session.id = f.session.id;
  r.session.epoch = f.session.epoch;
  for (const TopicPartition& tp : f.session.forgotten) {
    r.session.forgotten.push_back(request::ForgottenPartition{tp.topic, tp.partition.value()});
  }
  for (const FetchPartition& p : f.partitions) {
    if (r.topics.empty() || r.topics.back().topic != p.tp.topic) {
      r.topics.emplace_back().topic = p.tp.topic;
    }
    r.topics.back().partitions.push_back(
        request::FetchPartition{p.tp.partition.value(), p.fetch_offset, p.partition_max_bytes,
                                p.current_leader_epoch, p.log_start_offset});
  }
  return r;
}

std::vector<FetchPartition> FromRequestLayer(const std::vector<request::FetchTopic>& topics) {
  std::vector<FetchPartition> out;
  for (const request::FetchTopic& t : topics) {
    for (const request::FetchPartition& p : t.partitions) {
      out.push_back(FetchPartition{TopicPartition{t.topic, PartitionId(p.partition)},
                                   p.fetch_offset, p.current_leader_epoch, p.partition_max_bytes,
                                   p.log_start_offset});
    }
  }
  return out;
}

// Trims `response` for the session as the request layer does.
void TrimForSession(const request::FetchSessionUse& use, FetchResponse& response) {
  if (use.session == nullptr) return;
  request::FetchResponse r;
  for (FetchPartitionData& d : response.partitions) {
    if (r.topics.empty() || r.topics.back().topic != d.tp.topic) {
      r.topics.emplace_back().topic = d.tp.topic;
    }
    request::FetchPartitionResult& p = r.topics.back().partitions.emplace_back();
    p.partition = d.tp.partition.value();
    p.error = d.result.error;
    p.message = std::move(d.result.message);
    p.high_watermark = d.result.high_watermark;
    p.last_stable_offset = d.result.last_stable_offset;
    p.log_start_offset = d.result.log_start_offset;
    p.log_end_offset = d.result.log_end_offset;
    p.records = std::move(d.result.records);
  }
  request::FetchSessions::Trim(use, r);
  response = FetchResponse{};
  response.session_id = r.session_id;
  for (request::FetchTopicResult& t : r.topics) {
    for (request::FetchPartitionResult& p : t.partitions) {
      FetchPartitionData& d = response.partitions.emplace_back();
      d.tp = TopicPartition{t.topic, PartitionId(p.partition)};
      d.result.error = p.error;
      d.result.message = std::move(p.message);
      d.result.high_watermark = p.high_watermark;
      d.result.last_stable_offset = p.last_stable_offset;
      d.result.log_start_offset = p.log_start_offset;
      d.result.log_end_offset = p.log_end_offset;
      d.result.records = std::move(p.records);
    }
  }
}

// A leader reached in process: what broker/server/replica_service.cc does
// over gRPC (read at once, recording the follower's fetch offset; park
// while there is nothing to send; read again when data arrives or the wait
// ends), on the leader's ReplicaManager.
class InProcessLeaderEndpoint final : public LeaderEndpoint {
 public:
  InProcessLeaderEndpoint(ReplicaManager* leader, std::shared_ptr<Link> link)
      : leader_(leader), link_(std::move(link)) {
    ++link_->created;
    ++link_->live;
  }
  ~InProcessLeaderEndpoint() override { --link_->live; }

  absl::StatusOr<FetchResponse> Fetch(const FetchRequest& asked) override {
    ++link_->fetches;
    if (absl::Status s = Reachable(); !s.ok()) return s;
    // A session fetch is read for the session's whole partition set, and
    // its answer trimmed (broker/request/fetch_sessions.h).
    FetchRequest request = asked;
    request::FetchSessionUse use;
    if (asked.session.open) ++link_->opens;
    link_->forgotten += static_cast<int>(asked.session.forgotten.size());
    if (asked.session.id != 0 && asked.partitions.empty() && asked.session.forgotten.empty()) {
      ++link_->empty_incremental;
    }
    const std::shared_ptr<request::FetchSessions> sessions = link_->Sessions();
    if (sessions != nullptr && (asked.session.open || asked.session.id != 0)) {
      request::FetchRequest r = ToRequestLayer(asked);
      FetchResponse refused;
      refused.error = sessions->Begin(r, &use, &refused.message);
      if (refused.error != ErrorCode::kNone) {
        ++link_->session_errors;
        return refused;
      }
      request.partitions = FromRequestLayer(r.topics);
    }
    const absl::Time deadline = absl::Now() + absl::Milliseconds(request.max_wait_ms);
    uint64_t seen = leader_->progress();
    FetchResponse response = testing::ReadForFollower(leader_, request);
    while (testing::IsEmpty(response) && absl::Now() < deadline) {
      if (absl::Status s = Reachable(); !s.ok()) return s;
      if (testing::FollowerHasData(leader_, request)) {
        response = testing::ReadForFollower(leader_, request);
        continue;
      }
      ++link_->polling;
      seen = leader_->WaitForProgress(seen, absl::Milliseconds(5));
      --link_->polling;
    }
    // A link cut while the leader read loses the answer.
    if (absl::Status s = Reachable(); !s.ok()) return s;
    TrimForSession(use, response);
    if (link_->reverse_answers) {
      std::reverse(response.partitions.begin(), response.partitions.end());
    }
    return response;
  }

  absl::StatusOr<OffsetForLeaderEpochResponse> OffsetForLeaderEpoch(
      const OffsetForLeaderEpochRequest& request) override {
    ++link_->epoch_queries;
    if (absl::Status s = Reachable(); !s.ok()) return s;
    return testing::EpochEnds(leader_, request);
  }

  void Close() override { closed_ = true; }

 private:
  absl::Status Reachable() {
    if (closed_) return absl::CancelledError("closed");
    if (!link_->up) {
      ++link_->failures;
      return absl::UnavailableError("the link is down");
    }
    return absl::OkStatus();
  }

  ReplicaManager* const leader_;
  const std::shared_ptr<Link> link_;
  std::atomic<bool> closed_{false};
};

// Brokers with a ReplicaManager each over one in-memory file system, a
// metadata image applied to all of them, and a ReplicaFetcherManager each
// whose endpoints reach the other brokers' managers through Links.
class ReplicaFetcherTest : public ::testing::Test {
 protected:
  const TopicPartition tp_{"R", PartitionId(0)};

  void AddBrokers(std::vector<int32_t> ids) {
    std::vector<internal::MetadataRecord> registrations;
    for (int32_t id : ids) {
      storage::LogManager::Options options;
      options.log_dirs = {"/logs" + std::to_string(id)};
      auto logs = storage::LogManager::Open(&fs_, &clock_, options);
      ASSERT_TRUE(logs.ok()) << logs.status();
      logs_[id] = std::move(*logs);
      ReplicaManagerOptions o;
      o.broker_id = id;
      o.min_insync_replicas = [](const metadata::TopicInfo&) { return 1; };
      o.unclean_leader_election = [this](const metadata::TopicInfo&) { return unclean_.load(); };
      o.clock = &clock_;
      rm_[id] = std::make_unique<ReplicaManager>(logs_[id].get(), o);
      registrations.push_back(records::RegisterBroker(id, id, /*fenced=*/false));
    }
    Apply(registrations);
  }

  void Apply(const std::vector<internal::MetadataRecord>& rs) {
    auto next = image_->Apply(records::Batch(rs), image_->offset() + 2);
    ASSERT_TRUE(next.ok()) << next.status();
    image_ = *next;
    for (auto& [id, rm] : rm_) rm->OnMetadata(image_);
  }

  // Starts broker `id`'s fetcher manager.
  void StartFetchers(int32_t id) {
    ReplicaFetcherOptions o;
    o.broker_id = id;
    o.max_wait_ms = max_wait_ms_;
    o.partition_max_bytes = partition_max_bytes_;
    o.backoff_ms = backoff_ms_;
    o.clock = &clock_;
    o.endpoint_for = [this, id](int32_t leader) -> std::unique_ptr<LeaderEndpoint> {
      if (!rm_.contains(leader)) return nullptr;
      return std::make_unique<InProcessLeaderEndpoint>(rm_[leader].get(), LinkOf(id, leader));
    };
    fetchers_[id] = std::make_unique<ReplicaFetcherManager>(rm_[id].get(), o);
    fetchers_[id]->Start();
  }

  std::shared_ptr<Link> LinkOf(int32_t follower, int32_t leader) {
    absl::MutexLock l(&links_mu_);
    std::shared_ptr<Link>& link = links_[{follower, leader}];
    if (!link) {
      link = std::make_shared<Link>();
      // Leaders keep fetch sessions, as the request layer's do.
      link->SetSessions(std::make_shared<request::FetchSessions>(&clock_, 1000));
    }
    return link;
  }

  int64_t LogEnd(int32_t id, const TopicPartition& tp) {
    return logs_[id]->Get(tp)->log_end_offset().value();
  }
  int64_t LogEnd(int32_t id) { return LogEnd(id, tp_); }
  int64_t Hw(int32_t id, const TopicPartition& tp) {
    return logs_[id]->Get(tp)->high_watermark().value();
  }
  int64_t Hw(int32_t id) { return Hw(id, tp_); }
  // Broker `id`'s batches below `end`, byte for byte.
  std::string Bytes(int32_t id, int64_t end, const TopicPartition& tp) {
    auto read = logs_[id]->Get(tp)->Read(Offset(0), 1 << 24, Offset(end));
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? read->batches : "";
  }
  std::string Bytes(int32_t id, int64_t end) { return Bytes(id, end, tp_); }

  int64_t Append(int32_t leader, const std::string& topic, int32_t partition, int records) {
    ProduceResult r = rm_[leader]->Append(topic, partition, Batch(records), 1);
    EXPECT_EQ(r.error, ErrorCode::kNone) << r.message;
    return r.base_offset;
  }

  int32_t LeaderEpoch() { return image_->FindPartition("R", 0)->leader_epoch; }

  int32_t max_wait_ms_ = 100;
  int32_t partition_max_bytes_ = 1 << 20;
  int32_t backoff_ms_ = 100;
  std::atomic<bool> unclean_{false};

  storage::MemFileSystem fs_;
  SystemClock clock_;
  std::shared_ptr<const metadata::MetadataImage> image_ = metadata::MetadataImage::Empty("c");
  std::map<int32_t, std::unique_ptr<storage::LogManager>> logs_;
  std::map<int32_t, std::unique_ptr<ReplicaManager>> rm_;
  absl::Mutex links_mu_;
  std::map<std::pair<int32_t, int32_t>, std::shared_ptr<Link>> links_;
  // Declared last: destroyed (stopped) before the managers they call.
  std::map<int32_t, std::unique_ptr<ReplicaFetcherManager>> fetchers_;
};

TEST_F(ReplicaFetcherTest, TheFollowerCatchesUpAndTheLeadersHighWatermarkRises) {
  partition_max_bytes_ = 200;  // a few batches per fetch: many rounds
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1)});
  StartFetchers(1);
  StartFetchers(2);
  ProduceResult last;
  for (int i = 0; i < 10; ++i) {
    last = rm_[1]->Append("R", 0, Batch(3), -1);
    ASSERT_EQ(last.error, ErrorCode::kNone) << last.message;
  }
  ASSERT_EQ(LogEnd(1), 30);
  EXPECT_TRUE(Eventually([&] { return LogEnd(2) == 30 && Hw(1) == 30 && Hw(2) == 30; }))
      << "follower log end " << LogEnd(2) << ", leader HW " << Hw(1) << ", follower HW " << Hw(2);
  EXPECT_EQ(Bytes(2, 30), Bytes(1, 30)) << "the same batches at the same offsets";
  std::optional<ProduceResult> acked =
      rm_[1]->CheckAcked("R", 0, last.required_offset, last.leader_epoch);
  ASSERT_TRUE(acked.has_value()) << "acks=all completes once the follower has it";
  EXPECT_EQ(acked->error, ErrorCode::kNone);
  EXPECT_GT(LinkOf(2, 1)->fetches.load(), 2) << "200-byte partition budget: several rounds";
  EXPECT_EQ(fetchers_[1]->FetcherLeaders(), std::vector<int32_t>{}) << "a leader fetches nothing";
}

// The follower matches each partition of the answer to its own by name,
// whatever the order: with the leader's answers reversed, each of its
// partitions still gets its own records. (Four partitions: reversed, none
// is ever where it was asked for, whichever one a round starts with.)
TEST_F(ReplicaFetcherTest, AnswersInAnotherOrderReachTheirOwnPartitions) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1),
         records::Partition(kTopicId, 1, {1, 2}, {1, 2}, 1),
         records::Partition(kTopicId, 2, {1, 2}, {1, 2}, 1),
         records::Partition(kTopicId, 3, {1, 2}, {1, 2}, 1)});
  LinkOf(2, 1)->reverse_answers = true;
  StartFetchers(2);
  const std::vector<int> counts = {3, 5, 7, 2};
  for (int round = 0; round < 2; ++round) {
    for (int p = 0; p < 4; ++p) Append(1, "R", p, counts[p]);
  }
  for (int p = 0; p < 4; ++p) {
    const TopicPartition tp{"R", PartitionId(p)};
    EXPECT_TRUE(Eventually([&] { return LogEnd(2, tp) == 2 * counts[p]; }))
        << "partition " << p << ": follower log end " << LogEnd(2, tp);
    EXPECT_EQ(Bytes(2, 2 * counts[p], tp), Bytes(1, 2 * counts[p], tp));
  }
}

// Fetch sessions (KIP-227): once the follower's partitions are caught up,
// its fetches name none of them and the leader answers none of them; new
// records on one partition reach it all the same, and so does the high
// watermark the follower's next fetch moves (an answer with no records).
TEST_F(ReplicaFetcherTest, AnIdleSessionNamesNoPartitionAndRecordsStillArrive) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1),
         records::Partition(kTopicId, 1, {1, 2}, {1, 2}, 1),
         records::Partition(kTopicId, 2, {1, 2}, {1, 2}, 1)});
  StartFetchers(2);
  std::shared_ptr<Link> link = LinkOf(2, 1);
  Append(1, "R", 0, 3);
  ASSERT_TRUE(Eventually([&] { return LogEnd(2) == 3 && Hw(2) == 3; }))
      << "follower log end " << LogEnd(2) << ", HW " << Hw(2);
  const int idle_before = link->empty_incremental.load();
  ASSERT_TRUE(Eventually([&] { return link->empty_incremental.load() >= idle_before + 3; }))
      << "idle fetches name no partition";

  const TopicPartition two{"R", PartitionId(2)};
  Append(1, "R", 2, 5);
  EXPECT_TRUE(Eventually([&] { return LogEnd(2, two) == 5 && Hw(2, two) == 5; }))
      << "follower log end " << LogEnd(2, two) << ", HW " << Hw(2, two);
  EXPECT_EQ(Bytes(2, 5, two), Bytes(1, 5, two));
  EXPECT_EQ(Hw(1, two), 5);
  EXPECT_EQ(link->opens.load(), 1) << "one session for the whole run";
  EXPECT_EQ(link->session_errors.load(), 0);
}

// With three replicas the high watermark moves when the slower follower
// catches up: the faster one, which names nothing any more, hears of it
// from its session (an answer with no records, for a partition it did not
// name).
TEST_F(ReplicaFetcherTest, AHighWatermarkMovedByAnotherFollowerReachesASessionThatNamesNothing) {
  AddBrokers({1, 2, 3});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2, 3}, {1, 2, 3}, 1)});
  LinkOf(3, 1)->up = false;  // broker 3 is cut off at first
  StartFetchers(2);
  StartFetchers(3);
  std::shared_ptr<Link> link = LinkOf(2, 1);
  ProduceResult produced = rm_[1]->Append("R", 0, Batch(4), -1);
  ASSERT_EQ(produced.error, ErrorCode::kNone) << produced.message;
  ASSERT_TRUE(Eventually([&] { return LogEnd(2) == 4; }));
  const int idle_before = link->empty_incremental.load();
  ASSERT_TRUE(Eventually([&] { return link->empty_incremental.load() >= idle_before + 2; }))
      << "broker 2 has everything and names nothing";
  EXPECT_EQ(Hw(1), 0) << "broker 3 has not confirmed";
  EXPECT_EQ(Hw(2), 0);

  LinkOf(3, 1)->up = true;
  EXPECT_TRUE(Eventually([&] { return LogEnd(3) == 4 && Hw(1) == 4; }));
  EXPECT_TRUE(Eventually([&] { return Hw(2) == 4; })) << "broker 2's HW " << Hw(2);
  EXPECT_TRUE(
      rm_[1]->CheckAcked("R", 0, produced.required_offset, produced.leader_epoch).has_value());
  EXPECT_EQ(link->opens.load(), 1);
}

// A leader that lost the session (it restarted) refuses the next fetch; the
// follower opens a new session and replication goes on.
TEST_F(ReplicaFetcherTest, AFollowerOpensANewSessionWhenTheLeaderLostIt) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1),
         records::Partition(kTopicId, 1, {1, 2}, {1, 2}, 1)});
  StartFetchers(2);
  std::shared_ptr<Link> link = LinkOf(2, 1);
  Append(1, "R", 0, 2);
  ASSERT_TRUE(Eventually([&] { return LogEnd(2) == 2 && link->empty_incremental.load() > 0; }));

  link->SetSessions(std::make_shared<request::FetchSessions>(&clock_, 1000));
  ASSERT_TRUE(Eventually([&] {
    return link->session_errors.load() >= 1 && link->opens.load() >= 2;
  })) << "errors "
      << link->session_errors.load() << ", opens " << link->opens.load();
  const TopicPartition one{"R", PartitionId(1)};
  Append(1, "R", 1, 4);
  Append(1, "R", 0, 1);
  EXPECT_TRUE(Eventually([&] {
    return LogEnd(2, one) == 4 && Hw(2, one) == 4 && LogEnd(2) == 3 && Hw(2) == 3;
  })) << "follower log ends "
      << LogEnd(2) << ", " << LogEnd(2, one);
  EXPECT_EQ(Bytes(2, 4, one), Bytes(1, 4, one));
  EXPECT_EQ(link->session_errors.load(), 1) << "the new session holds";
}

// A partition the follower no longer fetches from this leader (its
// leadership moved) is dropped from the session; the others go on.
TEST_F(ReplicaFetcherTest, APartitionThatMovesAwayIsForgottenAndTheOthersGoOn) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1),
         records::Partition(kTopicId, 1, {1, 2}, {1, 2}, 1)});
  StartFetchers(1);
  StartFetchers(2);
  std::shared_ptr<Link> link = LinkOf(2, 1);
  Append(1, "R", 1, 2);
  const TopicPartition one{"R", PartitionId(1)};
  ASSERT_TRUE(
      Eventually([&] { return LogEnd(2, one) == 2 && link->empty_incremental.load() > 0; }));

  // Broker 2 leads R-1 now; broker 1 follows it from broker 2.
  Apply({records::Change(kTopicId, 1, 2, std::vector<int32_t>{1, 2})});
  EXPECT_TRUE(Eventually([&] { return link->forgotten.load() >= 1; }));
  Append(1, "R", 0, 3);
  Append(2, "R", 1, 2);
  EXPECT_TRUE(Eventually([&] { return LogEnd(2) == 3 && Hw(2) == 3; }))
      << "R-0 still replicates from broker 1: follower log end " << LogEnd(2);
  EXPECT_TRUE(Eventually([&] { return LogEnd(1, one) == 4 && Hw(2, one) == 4; }))
      << "R-1 replicates from broker 2: broker 1's log end " << LogEnd(1, one);
}

// A leader that keeps no sessions answers an open with session id 0: every
// fetch is full, and replication is as before.
TEST_F(ReplicaFetcherTest, ALeaderWithoutSessionsGetsFullFetches) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1)});
  std::shared_ptr<Link> link = LinkOf(2, 1);
  link->SetSessions(nullptr);
  StartFetchers(2);
  for (int i = 0; i < 3; ++i) Append(1, "R", 0, 2);
  EXPECT_TRUE(Eventually([&] { return LogEnd(2) == 6 && Hw(2) == 6 && Hw(1) == 6; }));
  EXPECT_TRUE(Eventually([&] { return link->fetches.load() >= 5; }));
  EXPECT_EQ(link->empty_incremental.load(), 0);
  // Each fetch is full and asks for a session (one call may be between its
  // two counts, and the next begun, as they are read).
  const int opens = link->opens.load();
  EXPECT_GE(opens, link->fetches.load() - 2);
}

// KIP-101: the old leader took records the new leader never had; when it
// follows in the new epoch it asks where its last epoch ends in the new
// leader's log, cuts what lies beyond, and fetches the new leader's records
// in their place.
TEST_F(ReplicaFetcherTest, ANewLeaderEpochCutsTheDivergentSuffixBeforeFetching) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1)});
  StartFetchers(1);
  StartFetchers(2);
  Append(1, "R", 0, 5);
  ASSERT_TRUE(Eventually([&] { return LogEnd(2) == 5 && Hw(2) == 5; }));

  // Broker 2 loses broker 1; broker 1 takes 3 more records in epoch 0.
  LinkOf(2, 1)->up = false;
  Append(1, "R", 0, 2);
  Append(1, "R", 0, 1);
  ASSERT_EQ(LogEnd(1), 8);
  ASSERT_EQ(Hw(1), 5) << "broker 2 never confirmed 5..7";

  // Broker 2 leads epoch 1 and writes 4 records at 5..8.
  Apply({records::Change(kTopicId, 0, 2, std::vector<int32_t>{1, 2})});
  ASSERT_EQ(LeaderEpoch(), 1);
  Append(2, "R", 0, 4);
  ASSERT_EQ(LogEnd(2), 9);

  EXPECT_TRUE(Eventually([&] { return LogEnd(1) == 9 && Bytes(1, 9) == Bytes(2, 9); }))
      << "broker 1's log end " << LogEnd(1);
  EXPECT_GE(LinkOf(1, 2)->epoch_queries.load(), 1) << "it asked before it cut";
  EXPECT_TRUE(Eventually([&] { return Hw(2) == 9; })) << "new leader's HW " << Hw(2);
  EXPECT_TRUE(Eventually([&] { return fetchers_[2]->FetcherLeaders().empty(); }))
      << "broker 2 follows no one now";
}

// DeleteRecords on the leader: its log start moves at once, the in-sync
// follower takes it from the next fetch answer and says so in its own
// fetches, and only then does the low watermark (what DeleteRecords
// answers with) reach the offset.
TEST_F(ReplicaFetcherTest, TheLeadersLogStartReachesItsFollowersAndTheLowWatermarkFollows) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1)});
  StartFetchers(1);
  StartFetchers(2);
  for (int i = 0; i < 10; ++i) Append(1, "R", 0, 3);
  ASSERT_TRUE(Eventually([&] { return Hw(1) == 30 && Hw(2) == 30; }));

  // Past the high watermark, or below -1: refused, nothing moves.
  DeleteRecordsResult refused = rm_[1]->DeleteRecords("R", 0, 31);
  EXPECT_EQ(refused.error, ErrorCode::kOffsetOutOfRange) << refused.message;
  EXPECT_EQ(rm_[1]->DeleteRecords("R", 0, -2).error, ErrorCode::kOffsetOutOfRange);
  // Only the leader takes it.
  EXPECT_EQ(rm_[2]->DeleteRecords("R", 0, 5).error, ErrorCode::kNotLeaderOrFollower);
  EXPECT_EQ(logs_[1]->Get(tp_)->log_start_offset(), Offset(0));

  LinkOf(2, 1)->up = false;
  DeleteRecordsResult r = rm_[1]->DeleteRecords("R", 0, 10);
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.message;
  EXPECT_EQ(r.offset, 10);
  EXPECT_EQ(logs_[1]->Get(tp_)->log_start_offset(), Offset(10));
  EXPECT_LT(r.low_watermark, 10) << "the follower has not heard of it yet";
  LinkOf(2, 1)->up = true;
  EXPECT_TRUE(Eventually([&] { return logs_[2]->Get(tp_)->log_start_offset() == Offset(10); }));
  EXPECT_TRUE(Eventually([&] { return rm_[1]->LowWatermark("R", 0).low_watermark == 10; }));

  // -1 means the high watermark.
  r = rm_[1]->DeleteRecords("R", 0, -1);
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.message;
  EXPECT_EQ(r.offset, 30);
  EXPECT_TRUE(Eventually([&] { return rm_[1]->LowWatermark("R", 0).low_watermark == 30; }));
  EXPECT_EQ(logs_[2]->Get(tp_)->log_start_offset(), Offset(30));
  // Replication goes on from there.
  Append(1, "R", 0, 2);
  EXPECT_TRUE(Eventually([&] { return LogEnd(2) == 32 && Hw(1) == 32; }));
}

// A follower away while its leader's log start passed its own end (retention
// or DeleteRecords removed everything it lacks) starts its log over at the
// leader's log start instead of failing every fetch.
TEST_F(ReplicaFetcherTest, AFollowerBehindTheLeadersLogStartStartsOverThere) {
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1}, 1)});
  LinkOf(2, 1)->up = false;
  StartFetchers(1);
  StartFetchers(2);
  for (int i = 0; i < 10; ++i) Append(1, "R", 0, 3);
  ASSERT_EQ(Hw(1), 30);  // the ISR is the leader alone
  ASSERT_EQ(rm_[1]->DeleteRecords("R", 0, 20).error, ErrorCode::kNone);
  ASSERT_EQ(LogEnd(2), 0);

  LinkOf(2, 1)->up = true;
  EXPECT_TRUE(Eventually([&] { return LogEnd(2) == 30; })) << "follower end " << LogEnd(2);
  EXPECT_EQ(logs_[2]->Get(tp_)->log_start_offset(), Offset(20));
  auto read = logs_[2]->Get(tp_)->Read(Offset(20), 1 << 20, Offset(30));
  ASSERT_TRUE(read.ok()) << read.status();
  auto leader_read = logs_[1]->Get(tp_)->Read(Offset(20), 1 << 20, Offset(30));
  ASSERT_TRUE(leader_read.ok());
  EXPECT_EQ(read->batches, leader_read->batches) << "the same batches from the start on";
}

class ReplicaFetcherUncleanElectionTest : public ReplicaFetcherTest,
                                          public ::testing::WithParamInterface<bool> {};

// Broker 3 never got a record (its link to broker 1 is down, and it is
// outside the ISR), yet the image makes it the leader — an unclean
// election. Its log is shorter than what brokers 1 and 2 acknowledged.
TEST_P(ReplicaFetcherUncleanElectionTest,
       AFollowerTruncatesBelowItsHighWatermarkOnlyWhenTheTopicAllowsIt) {
  unclean_ = GetParam();
  AddBrokers({1, 2, 3});
  LinkOf(3, 1)->up = false;
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2, 3}, {1, 2}, 1)});
  for (int32_t id : {1, 2, 3}) StartFetchers(id);
  for (int i = 0; i < 5; ++i) Append(1, "R", 0, 1);
  ASSERT_TRUE(Eventually([&] { return LogEnd(2) == 5 && Hw(2) == 5 && Hw(1) == 5; }));
  ASSERT_EQ(LogEnd(3), 0);
  const std::string acknowledged = Bytes(2, 5);

  Apply({records::Change(kTopicId, 0, 3, std::vector<int32_t>{3})});
  ASSERT_TRUE(Eventually([&] { return LinkOf(2, 3)->epoch_queries.load() >= 1; }));
  if (!GetParam()) {
    EXPECT_TRUE(Eventually([&] {
      return rm_[2]->FollowedFrom(3).empty() && rm_[1]->FollowedFrom(3).empty();
    })) << "both stop following the short leader";
    // Rounds go on meanwhile (the fetcher threads are alive); nothing may
    // have been cut by any of them.
    absl::SleepFor(absl::Milliseconds(300));
    for (int32_t id : {1, 2}) {
      EXPECT_EQ(LogEnd(id), 5) << "broker " << id;
      EXPECT_EQ(Hw(id), 5) << "broker " << id;
      EXPECT_EQ(Bytes(id, 5), acknowledged) << "broker " << id;
    }
  } else {
    EXPECT_TRUE(Eventually([&] { return LogEnd(2) == 0 && LogEnd(1) == 0; }))
        << "the operator accepted the loss: both follow the leader down";
  }
}

INSTANTIATE_TEST_SUITE_P(CleanAndUnclean, ReplicaFetcherUncleanElectionTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Unclean" : "Clean";
                         });

TEST_F(ReplicaFetcherTest, ANetworkErrorBacksOffAndRetriesWithoutLosingProgress) {
  backoff_ms_ = 100;
  max_wait_ms_ = 50;
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1)});
  StartFetchers(2);
  Append(1, "R", 0, 3);
  Append(1, "R", 0, 3);
  ASSERT_TRUE(Eventually([&] { return LogEnd(2) == 6; }));

  std::shared_ptr<Link> link = LinkOf(2, 1);
  link->up = false;
  Append(1, "R", 0, 3);
  Append(1, "R", 0, 3);
  Append(1, "R", 0, 3);
  const int before = link->failures.load();
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Eventually([&] { return link->failures.load() >= before + 4; }));
  const absl::Duration took = absl::Now() - start;
  // Between two failed calls the fetcher pauses min(backoff, 200 ms): three
  // pauses at least separate the first failure counted from the fourth.
  EXPECT_GE(took, absl::Milliseconds(3 * 100 - 10)) << "it retried in a hot loop";
  EXPECT_EQ(LogEnd(2), 6) << "nothing arrived, nothing was lost";
  EXPECT_EQ(Bytes(2, 6), Bytes(1, 6));

  link->up = true;
  EXPECT_TRUE(Eventually([&] { return LogEnd(2) == 15 && Hw(1) == 15; }))
      << "follower log end " << LogEnd(2) << ", leader HW " << Hw(1);
  EXPECT_EQ(Bytes(2, 15), Bytes(1, 15)) << "resumed from its log end, no gap, no duplicate";
}

TEST_F(ReplicaFetcherTest, StopReturnsPromptlyWhileALongPollIsInFlight) {
  max_wait_ms_ = 60'000;
  AddBrokers({1, 2});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 2}, {1, 2}, 1)});
  StartFetchers(2);
  Append(1, "R", 0, 2);
  std::shared_ptr<Link> link = LinkOf(2, 1);
  ASSERT_TRUE(Eventually([&] { return LogEnd(2) == 2 && link->polling.load() > 0; }))
      << "caught up, the next fetch waits at the leader's log end";
  const absl::Time start = absl::Now();
  fetchers_[2]->Stop();
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(1)) << "Stop waited for the long poll";
  EXPECT_EQ(link->polling.load(), 0);
  EXPECT_EQ(link->live.load(), 0) << "the endpoint is closed and gone";
  EXPECT_TRUE(fetchers_[2]->FetcherLeaders().empty());
}

TEST_F(ReplicaFetcherTest, OneFetcherPerLeaderStartedAndStoppedWithItsPartitions) {
  AddBrokers({1, 2, 3});
  Apply({records::Topic("R", kTopicId), records::Partition(kTopicId, 0, {1, 3}, {1, 3}, 1)});
  StartFetchers(3);
  ASSERT_TRUE(Eventually([&] { return fetchers_[3]->FetcherLeaders() == std::vector{1}; }));

  // A second topic: one partition led by broker 2, one by broker 1 again.
  Apply({records::Topic("S", kOtherId), records::Partition(kOtherId, 0, {2, 3}, {2, 3}, 2),
         records::Partition(kOtherId, 1, {1, 3}, {1, 3}, 1)});
  EXPECT_TRUE(Eventually([&] { return fetchers_[3]->FetcherLeaders() == std::vector{1, 2}; }));
  const TopicPartition s0{"S", PartitionId(0)}, s1{"S", PartitionId(1)};
  Append(1, "R", 0, 2);
  Append(2, "S", 0, 3);
  Append(1, "S", 1, 4);
  EXPECT_TRUE(
      Eventually([&] { return LogEnd(3) == 2 && LogEnd(3, s0) == 3 && LogEnd(3, s1) == 4; }));
  EXPECT_EQ(LinkOf(3, 1)->created.load(), 1) << "R-0 and S-1 share leader 1's fetcher";
  EXPECT_EQ(LinkOf(3, 2)->created.load(), 1);

  // Broker 3 takes over both of broker 1's partitions: leader 1's fetcher
  // stops (its endpoint closed and destroyed), leader 2's goes on.
  Apply({records::Change(kTopicId, 0, 3), records::Change(kOtherId, 1, 3)});
  EXPECT_TRUE(Eventually([&] { return fetchers_[3]->FetcherLeaders() == std::vector{2}; }));
  EXPECT_TRUE(Eventually([&] { return LinkOf(3, 1)->live.load() == 0; }));
  Append(2, "S", 0, 1);
  EXPECT_TRUE(Eventually([&] { return LogEnd(3, s0) == 4; }));

  // Broker 1 leads R-0 again: a new fetcher, which replicates.
  Apply({records::Change(kTopicId, 0, 1)});
  EXPECT_TRUE(Eventually([&] { return fetchers_[3]->FetcherLeaders() == std::vector{1, 2}; }));
  EXPECT_EQ(LinkOf(3, 1)->created.load(), 2);
  Append(1, "R", 0, 1);
  EXPECT_TRUE(Eventually([&] {
    return LogEnd(1) == LogEnd(3) && Bytes(3, LogEnd(1)) == Bytes(1, LogEnd(1));
  })) << "broker 3 at "
      << LogEnd(3) << ", broker 1 at " << LogEnd(1);
}

}  // namespace
}  // namespace strata::replication
