// `strata transactions` (Kafka's kafka-transactions.sh) on real processes
// (issue 15, step 6). Transactions are driven through the raw gRPC APIs, as
// in transaction_test.cc:
//  - list and describe show an ongoing transaction at its coordinator, then
//    its CompleteCommit; describe-producers shows its producer with the
//    transaction's first offset, at the leader and at --broker-id;
//  - a hanging transaction (a transactional batch of a producer id no
//    coordinator handed out, which pins the last stable offset) is found by
//    find-hanging --max-transaction-timeout 0 while the ongoing one is not,
//    and abort --start-offset (and abort --producer-id ...) clears it: the
//    last stable offset reaches the high watermark and find-hanging lists
//    nothing;
//  - errors as Kafka's tool words them, with exit code 1.
// Every wait is bounded.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/record/record_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/v1/broker.grpc.pb.h"
#include "strata/v1/group.grpc.pb.h"
#include "strata/v1/transaction.grpc.pb.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTopic[] = "txn-cli";
constexpr char kTxnId[] = "cli-txn";
// Producer ids no coordinator hands out here (blocks start at 0).
constexpr int64_t kHangingId = 999999;
constexpr int64_t kOtherHangingId = 999998;

using Row = std::vector<std::string>;

// A table Kafka's prettyPrintTable printed: each line's cells (padded, each
// followed by a tab), trimmed; the header first.
std::vector<Row> Table(const std::string& out) {
  std::vector<Row> rows;
  for (const std::string& line : NonEmptyLines(out)) {
    std::vector<std::string> cells = absl::StrSplit(line, '\t');
    if (!cells.empty() && cells.back().empty()) cells.pop_back();
    for (std::string& c : cells) c.erase(c.find_last_not_of(' ') + 1);
    rows.push_back(std::move(cells));
  }
  return rows;
}

class TransactionsCliTest : public ::testing::Test {
 protected:
  TransactionsCliTest()
      : cluster_(3,
                 {"transaction.state.log.num.partitions=3",
                  "transaction.state.log.replication.factor=3", "transaction.state.log.min.isr=2",
                  "transaction.abort.timed.out.transaction.cleanup.interval.ms=300",
                  "offsets.topic.num.partitions=3", "offsets.topic.replication.factor=3"}) {}

  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
    CliResult r =
        cluster_.Cli({"topics", "--bootstrap-server", cluster_.bootstrap(1), "--create", "--topic",
                      kTopic, "--partitions", "2", "--replication-factor", "3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  CliResult Txn(std::vector<std::string> args, int node = 1) {
    args.insert(args.begin(), {"transactions", "--bootstrap-server", cluster_.bootstrap(node)});
    return cluster_.Cli(args);
  }

  std::shared_ptr<grpc::Channel> Channel(int node) {
    return grpc::CreateChannel(cluster_.bootstrap(node), grpc::InsecureChannelCredentials());
  }

  // The node coordinating `transactional_id` (-1 after 30 s).
  int FindCoordinator(const std::string& transactional_id) {
    int found = -1;
    Eventually(
        [&] {
          v1::FindCoordinatorRequest req;
          req.set_key_type(1);
          req.add_keys(transactional_id);
          v1::FindCoordinatorResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          if (!v1::Group::NewStub(Channel(1))->FindCoordinator(&ctx, req, &resp).ok()) return false;
          if (resp.coordinators_size() != 1 || resp.coordinators(0).error() != v1::NONE) {
            return false;
          }
          found = resp.coordinators(0).node_id();
          return found > 0;
        },
        30000);
    return found;
  }

  // InitProducerId for kTxnId at its coordinator: the producer id (epoch 0).
  int64_t Init() {
    int64_t producer_id = -1;
    Eventually(
        [&] {
          const int coordinator = FindCoordinator(kTxnId);
          if (coordinator < 0) return false;
          v1::InitProducerIdRequest req;
          req.set_transactional_id(kTxnId);
          req.set_transaction_timeout_ms(300000);  // time for every check below
          req.set_producer_id(-1);
          req.set_producer_epoch(-1);
          v1::InitProducerIdResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          if (!cluster_.broker(coordinator)->InitProducerId(&ctx, req, &resp).ok()) return false;
          if (resp.error() != v1::NONE) return false;
          producer_id = resp.producer_id();
          return true;
        },
        60000);
    return producer_id;
  }

  std::unique_ptr<v1::Transaction::Stub> CoordinatorStub() {
    const int coordinator = FindCoordinator(kTxnId);
    return coordinator < 0 ? nullptr : v1::Transaction::NewStub(Channel(coordinator));
  }

  v1::ErrorCode AddPartition(int64_t producer_id, int32_t partition) {
    v1::ErrorCode error = v1::UNKNOWN_SERVER_ERROR;
    Eventually(
        [&] {
          auto stub = CoordinatorStub();
          if (!stub) return false;
          v1::AddPartitionsToTxnRequest req;
          req.set_transactional_id(kTxnId);
          req.set_producer_id(producer_id);
          req.set_producer_epoch(0);
          v1::TxnTopic* t = req.add_topics();
          t->set_name(kTopic);
          t->add_partitions(partition);
          v1::AddPartitionsToTxnResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          if (!stub->AddPartitionsToTxn(&ctx, req, &resp).ok() || resp.results_size() == 0) {
            return false;
          }
          error = resp.results(0).error();
          return error != v1::CONCURRENT_TRANSACTIONS && error != v1::NOT_COORDINATOR &&
                 error != v1::COORDINATOR_LOAD_IN_PROGRESS;
        },
        30000);
    return error;
  }

  v1::ErrorCode Commit(int64_t producer_id) {
    v1::ErrorCode error = v1::UNKNOWN_SERVER_ERROR;
    Eventually(
        [&] {
          auto stub = CoordinatorStub();
          if (!stub) return false;
          v1::EndTxnRequest req;
          req.set_transactional_id(kTxnId);
          req.set_producer_id(producer_id);
          req.set_producer_epoch(0);
          req.set_committed(true);
          v1::EndTxnResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          if (!stub->EndTxn(&ctx, req, &resp).ok()) return false;
          error = resp.error();
          return error != v1::NOT_COORDINATOR && error != v1::COORDINATOR_LOAD_IN_PROGRESS &&
                 error != v1::CONCURRENT_TRANSACTIONS;
        },
        30000);
    return error;
  }

  // The leader of kTopic-`partition` (-1 after 30 s).
  int Leader(int32_t partition) {
    int leader = -1;
    Eventually(
        [&] {
          v1::MetadataRequest req;
          req.add_topics(kTopic);
          v1::MetadataResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          if (!cluster_.broker(1)->Metadata(&ctx, req, &resp).ok()) return false;
          for (const v1::TopicMetadata& t : resp.topics()) {
            for (const v1::PartitionMetadata& pm : t.partitions()) {
              if (pm.partition() == partition && pm.leader() > 0) leader = pm.leader();
            }
          }
          return leader > 0;
        },
        30000);
    return leader;
  }

  // One transactional batch of `count` records from `producer_id` (epoch 0,
  // sequences from 0) to kTopic-`partition`, acks=all; the error.
  v1::ErrorCode SendTransactional(int64_t producer_id, int32_t partition, int count) {
    record::RecordBatchBuilder builder;
    builder.set_producer(producer_id, 0, 0);
    builder.set_transactional(true);
    for (int i = 0; i < count; ++i) {
      record::Record r;
      r.value = "v" + std::to_string(i);
      r.timestamp = 1700000000000 + i;
      builder.Append(r);
    }
    const std::string batch = builder.Build();
    v1::ErrorCode error = v1::UNKNOWN_SERVER_ERROR;
    Eventually(
        [&] {
          const int leader = Leader(partition);
          if (leader < 0) return false;
          v1::ProduceRequest req;
          req.set_acks(-1);
          req.set_timeout_ms(10000);
          v1::TopicProduceData* t = req.add_topics();
          t->set_topic(kTopic);
          v1::PartitionProduceData* pd = t->add_partitions();
          pd->set_partition(partition);
          pd->set_records(batch);
          v1::ProduceResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
          if (!cluster_.broker(leader)->Produce(&ctx, req, &resp).ok()) return false;
          error = resp.topics(0).partitions(0).error();
          return error != v1::NOT_LEADER_OR_FOLLOWER && error != v1::LEADER_NOT_AVAILABLE &&
                 error != v1::NOT_ENOUGH_REPLICAS;
        },
        30000);
    return error;
  }

  struct Offsets {
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;
  };
  // A read_committed Fetch of kTopic-`partition` at its leader.
  Offsets ReadCommitted(int32_t partition) {
    Offsets out;
    const int leader = Leader(partition);
    if (leader < 0) return out;
    v1::FetchRequest req;
    req.set_replica_id(-1);
    req.set_max_wait_ms(0);
    req.set_max_bytes(1 << 20);
    req.set_isolation_level(v1::READ_COMMITTED);
    v1::FetchTopic* t = req.add_topics();
    t->set_topic(kTopic);
    v1::FetchPartition* fp = t->add_partitions();
    fp->set_partition(partition);
    fp->set_fetch_offset(0);
    fp->set_partition_max_bytes(1 << 20);
    fp->set_current_leader_epoch(-1);
    v1::FetchResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!cluster_.broker(leader)->Fetch(&ctx, req, &resp).ok()) return out;
    if (resp.topics_size() != 1 || resp.topics(0).partitions_size() != 1) return out;
    const v1::FetchPartitionResponse& pr = resp.topics(0).partitions(0);
    if (pr.error() != v1::NONE) return out;
    out.high_watermark = pr.high_watermark();
    out.last_stable_offset = pr.last_stable_offset();
    return out;
  }

  // The rows (header first) of `args` once `done` holds for them; the last
  // run's in `last`.
  std::vector<Row> TableWhen(const std::vector<std::string>& args,
                             const std::function<bool(const std::vector<Row>&)>& done,
                             CliResult* last) {
    std::vector<Row> rows;
    Eventually(
        [&] {
          *last = Txn(args);
          rows = last->exit_code == 0 ? Table(last->out) : std::vector<Row>{};
          return last->exit_code == 0 && done(rows);
        },
        30000);
    return rows;
  }

  StrataCluster cluster_;
};

// The row of `rows` (after the header) whose first cell is `key`.
const Row* Find(const std::vector<Row>& rows, const std::string& key) {
  for (size_t i = 1; i < rows.size(); ++i) {
    if (!rows[i].empty() && rows[i][0] == key) return &rows[i];
  }
  return nullptr;
}

TEST_F(TransactionsCliTest, ShowsAnOngoingTransactionAndFindsAndAbortsAHangingOne) {
  const int64_t pid = Init();
  ASSERT_GE(pid, 0);
  const int coordinator = FindCoordinator(kTxnId);
  ASSERT_GT(coordinator, 0);
  ASSERT_EQ(AddPartition(pid, 0), v1::NONE);
  ASSERT_EQ(SendTransactional(pid, 0, 3), v1::NONE);

  // list: the ongoing transaction at its coordinator.
  CliResult r;
  std::vector<Row> rows = TableWhen(
      {"list"},
      [&](const std::vector<Row>& t) {
        const Row* row = Find(t, kTxnId);
        return row != nullptr && row->size() == 4 && (*row)[3] == "Ongoing";
      },
      &r);
  ASSERT_FALSE(rows.empty()) << r.out << r.err;
  EXPECT_THAT(rows[0],
              ElementsAre("TransactionalId", "Coordinator", "ProducerId", "TransactionState"));
  EXPECT_THAT(*Find(rows, kTxnId),
              ElementsAre(kTxnId, std::to_string(coordinator), std::to_string(pid), "Ongoing"));

  // describe: the same, with its partition.
  r = Txn({"describe", "--transactional-id", kTxnId}, 3);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = Table(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_THAT(rows[0], ElementsAre("CoordinatorId", "TransactionalId", "ProducerId",
                                   "ProducerEpoch", "TransactionState", "TransactionTimeoutMs",
                                   "CurrentTransactionStartTimeMs", "TransactionDurationMs",
                                   "TopicPartitions"));
  ASSERT_EQ(rows[1].size(), 9u) << r.out;
  EXPECT_EQ(rows[1][0], std::to_string(coordinator));
  EXPECT_EQ(rows[1][1], kTxnId);
  EXPECT_EQ(rows[1][2], std::to_string(pid));
  EXPECT_EQ(rows[1][3], "0");
  EXPECT_EQ(rows[1][4], "Ongoing");
  EXPECT_EQ(rows[1][5], "300000");
  EXPECT_GT(std::stoll(rows[1][6]), 0);
  EXPECT_GE(std::stoll(rows[1][7]), 0);
  EXPECT_EQ(rows[1][8], "txn-cli-0");

  // describe-producers: its producer with the transaction's first offset,
  // at the leader and at --broker-id of the leader.
  const int leader0 = Leader(0);
  ASSERT_GT(leader0, 0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"describe-producers", "--topic", kTopic, "--partition", "0"},
        std::vector<std::string>{"describe-producers", "--topic", kTopic, "--partition", "0",
                                 "--broker-id", std::to_string(leader0)}}) {
    r = Txn(args, 2);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    rows = Table(r.out);
    ASSERT_EQ(rows.size(), 2u) << r.out;
    EXPECT_THAT(rows[0],
                ElementsAre("ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence",
                            "LastTimestamp", "CurrentTransactionStartOffset"));
    EXPECT_THAT(rows[1], ElementsAre(std::to_string(pid), "0", "-1", "2", "1700000000002", "0"));
  }

  // A hanging transaction on partition 1: nobody will ever end it.
  ASSERT_EQ(SendTransactional(kHangingId, 1, 2), v1::NONE);
  Offsets pinned = ReadCommitted(1);
  EXPECT_EQ(pinned.last_stable_offset, 0);
  EXPECT_EQ(pinned.high_watermark, 2);

  // find-hanging: the hanging one, not the ongoing one its coordinator
  // knows (a candidate too: its last write is older than 0 minutes).
  r = Txn({"find-hanging", "--topic", kTopic, "--max-transaction-timeout", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = Table(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_THAT(rows[0],
              ElementsAre("Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch",
                          "StartOffset", "LastTimestamp", "Duration(min)"));
  ASSERT_EQ(rows[1].size(), 8u);
  EXPECT_THAT(
      std::vector<std::string>(rows[1].begin(), rows[1].end() - 1),
      ElementsAre(kTopic, "1", std::to_string(kHangingId), "0", "-1", "0", "1700000000001"));
  EXPECT_GT(std::stoll(rows[1][7]), 1000);  // minutes since 2023
  // Kafka's default timeout (15 minutes) finds it too, and so does the
  // search by a broker holding a replica.
  r = Txn({"find-hanging", "--broker-id", std::to_string(Leader(1))});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = Table(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[1][2], std::to_string(kHangingId));
  // --partition narrows the search: partition 0 has none.
  r = Txn(
      {"find-hanging", "--topic", kTopic, "--partition", "0", "--max-transaction-timeout", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Table(r.out).size(), 1u) << r.out;

  // The ongoing transaction commits: list and describe show CompleteCommit.
  ASSERT_EQ(Commit(pid), v1::NONE);
  rows = TableWhen(
      {"list"},
      [&](const std::vector<Row>& t) {
        const Row* row = Find(t, kTxnId);
        return row != nullptr && row->size() == 4 && (*row)[3] == "CompleteCommit";
      },
      &r);
  ASSERT_FALSE(rows.empty()) << r.out << r.err;
  r = Txn({"describe", "--transactional-id", kTxnId});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = Table(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[1][4], "CompleteCommit");
  EXPECT_EQ(rows[1].size(), 9u);  // no partitions (the last cell is empty)
  EXPECT_EQ(rows[1].back(), "");

  // abort --start-offset: a start offset no transaction has is refused.
  r = Txn({"abort", "--topic", kTopic, "--partition", "1", "--start-offset", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Could not find any open transactions starting at offset 1 on partition "
            "txn-cli-1\n");
  r = Txn({"abort", "--topic", kTopic, "--partition", "1", "--start-offset", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  Offsets freed;
  EXPECT_TRUE(Eventually(
      [&] {
        freed = ReadCommitted(1);
        return freed.high_watermark == 3 && freed.last_stable_offset == freed.high_watermark;
      },
      20000))
      << "stable offset " << freed.last_stable_offset << ", high watermark "
      << freed.high_watermark;
  r = Txn({"describe-producers", "--topic", kTopic, "--partition", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = Table(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  // (The marker's coordinator epoch; no transaction open.)
  ASSERT_EQ(rows[1].size(), 6u) << r.out;
  EXPECT_EQ(rows[1][0], std::to_string(kHangingId));
  EXPECT_EQ(rows[1][2], "0");
  EXPECT_EQ(rows[1][5], "None");

  // Another one, aborted by its producer as for brokers before 3.0 (its
  // coordinator epoch -1 taken as 0).
  ASSERT_EQ(SendTransactional(kOtherHangingId, 1, 1), v1::NONE);
  r = Txn({"find-hanging", "--topic", kTopic, "--max-transaction-timeout", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = Table(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[1][2], std::to_string(kOtherHangingId));
  EXPECT_EQ(rows[1][5], "3");
  r = Txn({"abort", "--topic", kTopic, "--partition", "1", "--producer-id",
           std::to_string(kOtherHangingId), "--producer-epoch", "0", "--coordinator-epoch", "-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Eventually(
      [&] {
        freed = ReadCommitted(1);
        return freed.high_watermark == 5 && freed.last_stable_offset == freed.high_watermark;
      },
      20000))
      << "stable offset " << freed.last_stable_offset << ", high watermark "
      << freed.high_watermark;

  // Nothing hangs any more.
  r = Txn({"find-hanging", "--topic", kTopic, "--max-transaction-timeout", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Table(r.out),
              ElementsAre(ElementsAre("Topic", "Partition", "ProducerId", "ProducerEpoch",
                                      "CoordinatorEpoch", "StartOffset", "LastTimestamp",
                                      "Duration(min)")));
}

TEST_F(TransactionsCliTest, AnswersMistakesAsKafkasToolDoes) {
  // Bad flags: argparse4j's usage and error, exit code 1.
  CliResult r = cluster_.Cli({"transactions", "--bootstrap-server", cluster_.bootstrap(1)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "usage: strata transactions [-h] [-v] [--command-config FILE]\n"
            "                           --bootstrap-server host:port COMMAND ...\n"
            "strata transactions: error: too few arguments\n");
  r = Txn({"describe"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("strata transactions: error: argument --transactional-id is "
                               "required\n"));
  r = Txn({"find-hanging"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "The `find-hanging` command requires either --topic or --broker-id to limit the scope "
            "of the search\n");
  r = Txn({"abort", "--topic", kTopic, "--partition", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("The transaction to abort must be identified either with "
                               "--start-offset"));

  // An id no coordinator knows.
  r = Txn({"describe", "--transactional-id", "nobody"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Failed to describe transaction state of transactional-id `nobody`: "
            "DescribeTransactions request for transactionalId `nobody` failed because the ID "
            "could not be found. Enable debug logging for additional detail.\n");

  // A replica that does not lead the partition does not describe its
  // producers in Strata.
  const int leader = Leader(0);
  ASSERT_GT(leader, 0);
  const int follower = leader % 3 + 1;
  r = Txn({"describe-producers", "--topic", kTopic, "--partition", "0", "--broker-id",
           std::to_string(follower)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Failed to describe producers for partition txn-cli-0 on broker " +
                std::to_string(follower) +
                ": Failed to describe active producers for partition txn-cli-0 on brokerId " +
                std::to_string(follower) + ". Enable debug logging for additional detail.\n");

  // An empty cluster lists no transactions: the header alone.
  r = Txn({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n");
}

}  // namespace
}  // namespace strata::testing
