// The client's transactional Producer on real processes (3 nodes), read
// back with the client's Consumer at isolation.level=read_committed:
//  - an aborted and a committed transaction: read_committed sees the
//    committed records only, read_uncommitted both, neither a marker;
//  - zombies fenced by a newer producer with the same transactional.id:
//    one whose next record goes to a partition new to its transaction
//    (that record and its commit fail with PRODUCER_FENCED), one whose
//    next record goes to a partition it already added (refused by the
//    leader; its commit fails; its abort is answered PRODUCER_FENCED);
//    nothing either wrote becomes visible, the newer producer's records do;
//  - SendOffsetsToTransaction: the group's offsets (OffsetFetch through
//    the Group service) appear when the transaction commits, never when it
//    aborts;
//  - `strata producer-perf-test` with a transactional id commits all its
//    records.
// Every wait is bounded.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/consumer.h"
#include "client/errors.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "strata/v1/group.grpc.pb.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using client::ErrorCodeOf;

constexpr char kTopic[] = "txn-out";
constexpr char kInput[] = "txn-in";
constexpr int kPartitions = 3;

TopicPartition Tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, PartitionId(partition)};
}

class TransactionalProducerTest : public ::testing::Test {
 protected:
  TransactionalProducerTest()
      : cluster_(3,
                 {"transaction.state.log.num.partitions=3",
                  "transaction.state.log.replication.factor=3", "transaction.state.log.min.isr=2",
                  "transaction.abort.timed.out.transaction.cleanup.interval.ms=300",
                  "offsets.topic.num.partitions=3", "offsets.topic.replication.factor=3"}) {}

  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
    for (const char* topic : {kTopic, kInput}) {
      v1::CreateTopicsRequest req;
      v1::NewTopic* t = req.add_topics();
      t->set_name(topic);
      t->set_num_partitions(kPartitions);
      t->set_replication_factor(3);
      grpc::ClientContext ctx;
      v1::CreateTopicsResponse resp;
      ASSERT_TRUE(cluster_.admin(1)->CreateTopics(&ctx, req, &resp).ok());
      ASSERT_EQ(resp.results(0).error(), v1::NONE) << resp.results(0).error_message();
    }
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  std::unique_ptr<client::Producer> MakeProducer(const std::string& transactional_id) {
    client::ProducerConfig config;
    config.bootstrap_servers = cluster_.bootstrap_all();
    config.transactional_id = transactional_id;
    config.retry_backoff = absl::Milliseconds(50);
    config.max_block = absl::Seconds(60);
    absl::StatusOr<std::unique_ptr<client::Producer>> p = client::Producer::Create(config);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }

  static client::ProducerRecord Rec(int32_t partition, std::string value) {
    client::ProducerRecord r;
    r.topic = kTopic;
    r.partition = partition;
    r.value = std::move(value);
    return r;
  }

  // Every value of kTopic a consumer at `read_committed` reads up to the
  // end it sees (the last stable offset for read_committed), by partition
  // order; "error: ..." when it cannot.
  std::vector<std::string> ReadAll(bool read_committed) {
    client::ConsumerConfig config;
    config.bootstrap_servers = cluster_.bootstrap_all();
    config.read_committed = read_committed;
    config.auto_offset_reset = client::OffsetReset::kEarliest;
    absl::StatusOr<std::unique_ptr<client::Consumer>> consumer = client::Consumer::Create(config);
    if (!consumer.ok()) return {"error: " + consumer.status().ToString()};
    std::vector<TopicPartition> partitions;
    for (int32_t p = 0; p < kPartitions; ++p) partitions.push_back(Tp(kTopic, p));
    (*consumer)->Assign(partitions);
    if (absl::Status s = (*consumer)->SeekToBeginning(); !s.ok()) return {"error: " + s.ToString()};
    absl::StatusOr<std::map<TopicPartition, int64_t>> end =
        (*consumer)->ListOffsets(partitions, -1);
    if (!end.ok()) return {"error: " + end.status().ToString()};
    std::map<int32_t, std::vector<std::string>> by_partition;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      bool done = true;
      for (const TopicPartition& tp : partitions) {
        absl::StatusOr<int64_t> position = (*consumer)->Position(tp);
        if (!position.ok() || *position < end->at(tp)) done = false;
      }
      if (done) break;
      absl::StatusOr<std::vector<client::ConsumerRecord>> records =
          (*consumer)->Poll(absl::Milliseconds(200));
      if (!records.ok()) return {"error: " + records.status().ToString()};
      for (const client::ConsumerRecord& r : *records) {
        by_partition[r.partition].push_back(r.value.value_or("<null>"));
      }
    }
    (*consumer)->Close(absl::Seconds(5));
    std::vector<std::string> out;
    for (auto& [p, values] : by_partition) out.insert(out.end(), values.begin(), values.end());
    return out;
  }

  // The group's committed offset of kInput-`partition` (-1: none), through
  // FindCoordinator and OffsetFetch of the Group service; -2 on errors.
  int64_t CommittedOffset(const std::string& group, int32_t partition) {
    int64_t offset = -2;
    Eventually(
        [&] {
          for (int n = 1; n <= 3; ++n) {
            auto any = v1::Group::NewStub(
                grpc::CreateChannel(cluster_.bootstrap(n), grpc::InsecureChannelCredentials()));
            v1::FindCoordinatorRequest find;
            find.set_key_type(0);
            find.add_keys(group);
            v1::FindCoordinatorResponse found;
            grpc::ClientContext fctx;
            fctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
            if (!any->FindCoordinator(&fctx, find, &found).ok() || found.coordinators_size() != 1 ||
                found.coordinators(0).error() != v1::NONE) {
              continue;
            }
            const v1::Coordinator& c = found.coordinators(0);
            auto stub = v1::Group::NewStub(grpc::CreateChannel(
                c.host() + ":" + std::to_string(c.port()), grpc::InsecureChannelCredentials()));
            v1::OffsetFetchRequest req;
            req.set_group_id(group);
            v1::OffsetFetchTopic* t = req.add_topics();
            t->set_name(kInput);
            t->add_partition_indexes(partition);
            v1::OffsetFetchResponse resp;
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
            if (!stub->OffsetFetch(&ctx, req, &resp).ok() || resp.error() != v1::NONE) continue;
            for (const auto& tr : resp.topics()) {
              for (const auto& pr : tr.partitions()) {
                if (pr.partition_index() == partition && pr.error() == v1::NONE) {
                  offset = pr.committed_offset();
                  return true;
                }
              }
            }
          }
          return false;
        },
        30000);
    return offset;
  }

  StrataCluster cluster_;
};

TEST_F(TransactionalProducerTest, ReadCommittedSeesCommittedTransactionsOnly) {
  auto producer = MakeProducer("visibility");
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());

  ASSERT_TRUE(producer->BeginTransaction().ok());
  std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> aborted;
  for (int i = 0; i < 9; ++i) {
    aborted.push_back(producer->Send(Rec(i % kPartitions, "aborted-" + std::to_string(i))));
  }
  producer->Flush();
  for (auto& f : aborted) ASSERT_TRUE(f.get().ok());
  ASSERT_TRUE(producer->AbortTransaction().ok());

  ASSERT_TRUE(producer->BeginTransaction().ok());
  std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> committed;
  for (int i = 0; i < 9; ++i) {
    committed.push_back(producer->Send(Rec(i % kPartitions, "committed-" + std::to_string(i))));
  }
  ASSERT_TRUE(producer->CommitTransaction().ok());
  for (auto& f : committed) ASSERT_TRUE(f.get().ok()) << "the commit waited for every record";

  // Partition order, each partition in send order.
  std::vector<std::string> want_committed, want_all;
  for (int p = 0; p < kPartitions; ++p) {
    for (int i = p; i < 9; i += kPartitions) {
      want_all.push_back("aborted-" + std::to_string(i));
    }
    for (int i = p; i < 9; i += kPartitions) {
      want_committed.push_back("committed-" + std::to_string(i));
      want_all.push_back("committed-" + std::to_string(i));
    }
  }
  // The markers go out after EndTxn's answer.
  std::vector<std::string> seen;
  EXPECT_TRUE(Eventually(
      [&] {
        seen = ReadAll(/*read_committed=*/true);
        return seen == want_committed;
      },
      30000))
      << ::testing::PrintToString(seen);
  std::vector<std::string> all;
  EXPECT_TRUE(Eventually(
      [&] {
        all = ReadAll(/*read_committed=*/false);
        return all == want_all;
      },
      30000))
      << ::testing::PrintToString(all);
  EXPECT_EQ(producer->transaction_state(), client::TransactionState::kReady);
  producer->Close();
}

TEST_F(TransactionalProducerTest, ZombiesAreFencedByANewerProducerWithTheSameId) {
  // Zombie A writes to partition 0 only; its next record goes to partition
  // 1, new to its transaction. Zombie B writes to partition 2; its next
  // record goes there again.
  auto zombie_a = MakeProducer("copier-a");
  auto zombie_b = MakeProducer("copier-b");
  ASSERT_NE(zombie_a, nullptr);
  ASSERT_NE(zombie_b, nullptr);
  for (auto* z : {zombie_a.get(), zombie_b.get()}) {
    ASSERT_TRUE(z->InitTransactions().ok());
    ASSERT_TRUE(z->BeginTransaction().ok());
  }
  ASSERT_TRUE(zombie_a->Send(Rec(0, "a-before")).get().ok());
  ASSERT_TRUE(zombie_b->Send(Rec(2, "b-before")).get().ok());

  // The newer instances: their InitTransactions aborts the zombies'
  // transactions and bumps the epochs.
  auto fresh_a = MakeProducer("copier-a");
  auto fresh_b = MakeProducer("copier-b");
  ASSERT_NE(fresh_a, nullptr);
  ASSERT_NE(fresh_b, nullptr);
  ASSERT_TRUE(fresh_a->InitTransactions().ok());
  ASSERT_TRUE(fresh_b->InitTransactions().ok());

  absl::StatusOr<client::RecordMetadata> late_a = zombie_a->Send(Rec(1, "a-late")).get();
  EXPECT_EQ(ErrorCodeOf(late_a.status()), v1::PRODUCER_FENCED) << late_a.status();
  absl::Status commit_a = zombie_a->CommitTransaction();
  EXPECT_EQ(ErrorCodeOf(commit_a), v1::PRODUCER_FENCED) << commit_a;
  EXPECT_EQ(zombie_a->transaction_state(), client::TransactionState::kFatalError);

  absl::StatusOr<client::RecordMetadata> late_b = zombie_b->Send(Rec(2, "b-late")).get();
  EXPECT_FALSE(late_b.ok()) << "the leader refuses the old epoch";
  EXPECT_EQ(ErrorCodeOf(late_b.status()), v1::INVALID_PRODUCER_EPOCH) << late_b.status();
  absl::Status commit_b = zombie_b->CommitTransaction();
  EXPECT_FALSE(commit_b.ok());
  absl::Status abort_b = zombie_b->AbortTransaction();
  EXPECT_EQ(ErrorCodeOf(abort_b), v1::PRODUCER_FENCED) << abort_b;
  EXPECT_EQ(zombie_b->transaction_state(), client::TransactionState::kFatalError);
  EXPECT_EQ(ErrorCodeOf(zombie_b->BeginTransaction()), v1::PRODUCER_FENCED);

  for (auto* fresh : {fresh_a.get(), fresh_b.get()}) {
    ASSERT_TRUE(fresh->BeginTransaction().ok());
    for (int32_t p = 0; p < kPartitions; ++p) {
      fresh->Send(Rec(p, fresh == fresh_a.get() ? "fresh-a" : "fresh-b"), [](const auto&) {});
    }
    ASSERT_TRUE(fresh->CommitTransaction().ok());
  }
  std::vector<std::string> seen;
  EXPECT_TRUE(Eventually(
      [&] {
        seen = ReadAll(/*read_committed=*/true);
        return seen == std::vector<std::string>{"fresh-a", "fresh-b", "fresh-a",
                                                "fresh-b", "fresh-a", "fresh-b"};
      },
      30000))
      << ::testing::PrintToString(seen);
  // The zombies' records before the fence are in the log, aborted.
  std::vector<std::string> all = ReadAll(/*read_committed=*/false);
  EXPECT_NE(std::find(all.begin(), all.end(), "a-before"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "b-before"), all.end());
  EXPECT_EQ(std::find(all.begin(), all.end(), "a-late"), all.end());
  EXPECT_EQ(std::find(all.begin(), all.end(), "b-late"), all.end());
}

TEST_F(TransactionalProducerTest, OffsetsSentToATransactionAreCommittedWithIt) {
  auto producer = MakeProducer("offsets");
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->InitTransactions().ok());
  const client::ConsumerGroupMetadata group{"copier-group", -1, "", std::nullopt};

  ASSERT_TRUE(producer->BeginTransaction().ok());
  ASSERT_TRUE(producer->Send(Rec(0, "copied-0")).get().ok());
  std::map<TopicPartition, client::OffsetAndMetadata> offsets;
  offsets[Tp(kInput, 0)].offset = 5;
  offsets[Tp(kInput, 1)].offset = 7;
  absl::Status sent = producer->SendOffsetsToTransaction(offsets, group);
  ASSERT_TRUE(sent.ok()) << sent;
  EXPECT_EQ(CommittedOffset("copier-group", 0), -1) << "not before the commit";
  ASSERT_TRUE(producer->CommitTransaction().ok());
  int64_t committed = -2;
  EXPECT_TRUE(Eventually(
      [&] {
        committed = CommittedOffset("copier-group", 0);
        return committed == 5;
      },
      30000))
      << committed;
  EXPECT_EQ(CommittedOffset("copier-group", 1), 7);

  // Aborted: the offsets stay where the commit left them.
  ASSERT_TRUE(producer->BeginTransaction().ok());
  offsets[Tp(kInput, 0)].offset = 9;
  ASSERT_TRUE(producer->SendOffsetsToTransaction(offsets, group).ok());
  ASSERT_TRUE(producer->AbortTransaction().ok());
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(CommittedOffset("copier-group", 0), 5);
  EXPECT_EQ(ReadAll(/*read_committed=*/true), std::vector<std::string>{"copied-0"});
}

TEST_F(TransactionalProducerTest, ProducerPerfTestCommitsEveryRecordInTransactions) {
  CliResult perf = cluster_.Cli({"producer-perf-test", "--topic", kTopic, "--num-records", "3000",
                                 "--record-size", "50", "--throughput", "-1", "--producer-props",
                                 "bootstrap.servers=" + cluster_.bootstrap_all(),
                                 "transactional.id=perf-tx", "linger.ms=5"});
  ASSERT_EQ(perf.exit_code, 0) << perf.out << perf.err;
  EXPECT_NE(perf.out.find("3000 records sent"), std::string::npos) << perf.out;
  std::vector<std::string> seen;
  EXPECT_TRUE(Eventually(
      [&] {
        seen = ReadAll(/*read_committed=*/true);
        return seen.size() == 3000;
      },
      30000))
      << seen.size();
}

}  // namespace
}  // namespace strata::testing
