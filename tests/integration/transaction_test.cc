// Transactions on real processes, spoken to through the raw gRPC APIs as a
// client library would (FindCoordinator key type 1, Broker.InitProducerId
// with a transactional id, strata.v1.Transaction, transactional batches):
//  - an aborted and a committed transaction of 10 records each: read_committed
//    sees the 10 committed, read_uncommitted all 20, neither a marker;
//  - a transaction left open holds read_committed at its first offset until
//    transaction.timeout.ms aborts it, and the producer is fenced;
//  - a second InitProducerId fences the first producer (PRODUCER_FENCED);
//  - the coordinator SIGKILLed mid-transaction: the next one loads the
//    transaction from __transaction_state and commits it; and SIGKILLed
//    right after answering EndTxn: the next one sends the markers.
// Every wait is bounded.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/record/record_batch.h"
#include "gtest/gtest.h"
#include "strata/v1/broker.grpc.pb.h"
#include "strata/v1/group.grpc.pb.h"
#include "strata/v1/transaction.grpc.pb.h"
#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

constexpr char kTopic[] = "txn-data";

struct Producer {
  std::string transactional_id;
  int64_t producer_id = -1;
  int32_t epoch = -1;
  std::map<int32_t, int32_t> next_sequence;  // by partition
};

class TransactionTest : public ::testing::Test {
 protected:
  TransactionTest()
      : cluster_(3,
                 {"transaction.state.log.num.partitions=3",
                  "transaction.state.log.replication.factor=3", "transaction.state.log.min.isr=2",
                  "transaction.abort.timed.out.transaction.cleanup.interval.ms=300",
                  "offsets.topic.num.partitions=3", "offsets.topic.replication.factor=3"}) {}

  void SetUp() override {
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.WaitReady(3)) << "cluster not ready; logs in " << cluster_.dir();
    v1::CreateTopicsRequest req;
    v1::NewTopic* t = req.add_topics();
    t->set_name(kTopic);
    t->set_num_partitions(2);
    t->set_replication_factor(3);
    grpc::ClientContext ctx;
    v1::CreateTopicsResponse resp;
    ASSERT_TRUE(cluster_.admin(1)->CreateTopics(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.results(0).error(), v1::NONE) << resp.results(0).error_message();
  }
  void TearDown() override {
    if (HasFailure()) {
      cluster_.KeepData();
      std::fprintf(stderr, "node logs kept in %s\n", cluster_.dir().c_str());
    }
  }

  std::shared_ptr<grpc::Channel> Channel(int node) {
    return grpc::CreateChannel(cluster_.bootstrap(node), grpc::InsecureChannelCredentials());
  }

  // The coordinator of `transactional_id` (its node id), asking the running
  // nodes until one knows it; -1 after `timeout_ms`.
  int FindCoordinator(const std::string& transactional_id, int timeout_ms = 30000) {
    int found = -1;
    Eventually(
        [&] {
          for (int n = 1; n <= 3; ++n) {
            if (!cluster_.running(n)) continue;
            auto stub = v1::Group::NewStub(Channel(n));
            v1::FindCoordinatorRequest req;
            req.set_key_type(1);
            req.add_keys(transactional_id);
            v1::FindCoordinatorResponse resp;
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
            if (!stub->FindCoordinator(&ctx, req, &resp).ok()) continue;
            if (resp.coordinators_size() != 1 || resp.coordinators(0).error() != v1::NONE) continue;
            const int id = resp.coordinators(0).node_id();
            if (!cluster_.running(id)) continue;
            found = id;
            return true;
          }
          return false;
        },
        timeout_ms);
    return found;
  }

  // InitProducerId at the coordinator, retrying its retriable answers.
  v1::InitProducerIdResponse Init(const std::string& transactional_id, int32_t timeout_ms,
                                  Producer* p) {
    v1::InitProducerIdResponse resp;
    Eventually(
        [&] {
          const int coordinator = FindCoordinator(transactional_id, 5000);
          if (coordinator < 0) return false;
          v1::InitProducerIdRequest req;
          req.set_transactional_id(transactional_id);
          req.set_transaction_timeout_ms(timeout_ms);
          req.set_producer_id(-1);
          req.set_producer_epoch(-1);
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          resp.Clear();
          if (!cluster_.broker(coordinator)->InitProducerId(&ctx, req, &resp).ok()) return false;
          return resp.error() != v1::COORDINATOR_LOAD_IN_PROGRESS &&
                 resp.error() != v1::NOT_COORDINATOR &&
                 resp.error() != v1::CONCURRENT_TRANSACTIONS &&
                 resp.error() != v1::COORDINATOR_NOT_AVAILABLE;
        },
        60000);
    if (resp.error() == v1::NONE) {
      p->transactional_id = transactional_id;
      p->producer_id = resp.producer_id();
      p->epoch = resp.producer_epoch();
      p->next_sequence.clear();
    }
    return resp;
  }

  // A Transaction stub to the coordinator of `p`.
  std::unique_ptr<v1::Transaction::Stub> TxnStub(const Producer& p) {
    const int coordinator = FindCoordinator(p.transactional_id);
    if (coordinator < 0) return nullptr;
    return v1::Transaction::NewStub(Channel(coordinator));
  }

  // AddPartitionsToTxn, retrying CONCURRENT_TRANSACTIONS (a previous
  // transaction's markers still going out) and coordinator moves; the first
  // partition's error.
  v1::ErrorCode AddPartitions(const Producer& p, const std::vector<int32_t>& partitions) {
    v1::ErrorCode error = v1::UNKNOWN_SERVER_ERROR;
    Eventually(
        [&] {
          auto stub = TxnStub(p);
          if (!stub) return false;
          v1::AddPartitionsToTxnRequest req;
          req.set_transactional_id(p.transactional_id);
          req.set_producer_id(p.producer_id);
          req.set_producer_epoch(p.epoch);
          v1::TxnTopic* t = req.add_topics();
          t->set_name(kTopic);
          for (int32_t part : partitions) t->add_partitions(part);
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

  v1::ErrorCode EndTxn(const Producer& p, bool commit) {
    v1::ErrorCode error = v1::UNKNOWN_SERVER_ERROR;
    Eventually(
        [&] {
          auto stub = TxnStub(p);
          if (!stub) return false;
          v1::EndTxnRequest req;
          req.set_transactional_id(p.transactional_id);
          req.set_producer_id(p.producer_id);
          req.set_producer_epoch(p.epoch);
          req.set_committed(commit);
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

  // The leader of kTopic-`partition` as the running nodes see it (-1 after
  // 30 s without one that runs).
  int Leader(int32_t partition) {
    int leader = -1;
    Eventually(
        [&] {
          for (int n = 1; n <= 3; ++n) {
            if (!cluster_.running(n)) continue;
            v1::MetadataRequest req;
            req.add_topics(kTopic);
            v1::MetadataResponse resp;
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
            if (!cluster_.broker(n)->Metadata(&ctx, req, &resp).ok()) continue;
            for (const v1::TopicMetadata& t : resp.topics()) {
              for (const v1::PartitionMetadata& pm : t.partitions()) {
                if (pm.partition() == partition && pm.leader() > 0 &&
                    cluster_.running(pm.leader())) {
                  leader = pm.leader();
                  return true;
                }
              }
            }
          }
          return false;
        },
        30000);
    return leader;
  }

  // Produces `count` records "<prefix>-<i>" in one transactional batch of
  // `p` to `partition` with acks=all; the error.
  v1::ErrorCode Send(Producer& p, int32_t partition, const std::string& prefix, int count) {
    record::RecordBatchBuilder builder;
    int32_t& seq = p.next_sequence[partition];
    builder.set_producer(p.producer_id, static_cast<int16_t>(p.epoch), seq);
    builder.set_transactional(true);
    for (int i = 0; i < count; ++i) {
      record::Record r;
      r.value = prefix + "-" + std::to_string(i);
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
    if (error == v1::NONE) seq += count;
    return error;
  }

  struct Read {
    std::vector<std::string> values;
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;
    std::string error;  // the last failed fetch's
  };
  // Everything a consumer at `isolation` reads from kTopic-`partition`
  // (decoded by the broker: markers and, for read_committed, aborted
  // records dropped).
  Read ReadAll(int32_t partition, v1::IsolationLevel isolation) {
    Read out;
    int64_t offset = 0;
    for (int round = 0; round < 100; ++round) {
      const int leader = Leader(partition);
      if (leader < 0) break;
      v1::FetchRequest req;
      req.set_replica_id(-1);
      req.set_max_wait_ms(0);
      req.set_max_bytes(1 << 20);
      req.set_decode_records(true);
      req.set_isolation_level(isolation);
      v1::FetchTopic* t = req.add_topics();
      t->set_topic(kTopic);
      v1::FetchPartition* fp = t->add_partitions();
      fp->set_partition(partition);
      fp->set_fetch_offset(offset);
      fp->set_partition_max_bytes(1 << 20);
      fp->set_current_leader_epoch(-1);
      v1::FetchResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (grpc::Status s = cluster_.broker(leader)->Fetch(&ctx, req, &resp); !s.ok()) {
        out.error = s.error_message();
        continue;
      }
      const v1::FetchPartitionResponse& pr = resp.topics(0).partitions(0);
      if (pr.error() != v1::NONE) {
        out.error = v1::ErrorCode_Name(pr.error()) + " " + pr.error_message();
        continue;
      }
      out.high_watermark = pr.high_watermark();
      out.last_stable_offset = pr.last_stable_offset();
      const int64_t limit =
          isolation == v1::READ_COMMITTED ? pr.last_stable_offset() : pr.high_watermark();
      for (const v1::Record& r : pr.decoded_records()) {
        out.values.push_back(r.value());
        offset = r.offset() + 1;
      }
      // Past markers and aborted batches too: the next fetch starts at the
      // end of what was returned.
      if (!pr.records().empty()) {
        record::BatchIterator it(pr.records());
        record::BatchHeader h;
        std::string_view b;
        while (it.Next(&h, &b)) offset = std::max(offset, h.last_offset().value() + 1);
      }
      if (offset >= limit) break;
    }
    return out;
  }

  StrataCluster cluster_;
};

TEST_F(TransactionTest, ReadCommittedSeesTheCommittedTransactionOnlyAndNoMarkers) {
  Producer p;
  ASSERT_EQ(Init("visibility", 60000, &p).error(), v1::NONE);
  EXPECT_GE(p.producer_id, 0);
  EXPECT_EQ(p.epoch, 0);

  // An aborted transaction of 10 records over both partitions.
  ASSERT_EQ(AddPartitions(p, {0, 1}), v1::NONE);
  ASSERT_EQ(Send(p, 0, "aborted-0", 5), v1::NONE);
  ASSERT_EQ(Send(p, 1, "aborted-1", 5), v1::NONE);
  ASSERT_EQ(EndTxn(p, /*commit=*/false), v1::NONE);
  // A committed one of 10.
  ASSERT_EQ(AddPartitions(p, {0, 1}), v1::NONE);
  ASSERT_EQ(Send(p, 0, "committed-0", 5), v1::NONE);
  ASSERT_EQ(Send(p, 1, "committed-1", 5), v1::NONE);
  ASSERT_EQ(EndTxn(p, /*commit=*/true), v1::NONE);

  // The markers go out after EndTxn's answer: wait until both partitions
  // are stable (per partition 5 + 5 records and two markers: offsets 0-11
  // at least).
  std::vector<std::string> committed, uncommitted;
  ASSERT_TRUE(Eventually(
      [&] {
        committed.clear();
        uncommitted.clear();
        for (int32_t part : {0, 1}) {
          Read c = ReadAll(part, v1::READ_COMMITTED);
          // (A marker retried after a lost answer may add an offset.)
          if (c.last_stable_offset != c.high_watermark || c.high_watermark < 12) return false;
          committed.insert(committed.end(), c.values.begin(), c.values.end());
          Read u = ReadAll(part, v1::READ_UNCOMMITTED);
          uncommitted.insert(uncommitted.end(), u.values.begin(), u.values.end());
        }
        return true;
      },
      30000))
      << "the partitions did not become stable";
  std::multiset<std::string> want_committed, want_all;
  for (const char* prefix : {"committed-0", "committed-1", "aborted-0", "aborted-1"}) {
    for (int i = 0; i < 5; ++i) {
      const std::string v = std::string(prefix) + "-" + std::to_string(i);
      want_all.insert(v);
      if (std::string(prefix).starts_with("committed")) want_committed.insert(v);
    }
  }
  EXPECT_EQ(std::multiset<std::string>(committed.begin(), committed.end()), want_committed);
  EXPECT_EQ(std::multiset<std::string>(uncommitted.begin(), uncommitted.end()), want_all);

  // The coordinator describes the id as completed.
  auto stub = TxnStub(p);
  ASSERT_NE(stub, nullptr);
  ASSERT_TRUE(Eventually(
      [&] {
        v1::DescribeTransactionsRequest req;
        req.add_transactional_ids("visibility");
        v1::DescribeTransactionsResponse resp;
        grpc::ClientContext ctx;
        if (!stub->DescribeTransactions(&ctx, req, &resp).ok()) return false;
        return resp.transaction_states_size() == 1 &&
               resp.transaction_states(0).transaction_state() == "CompleteCommit" &&
               resp.transaction_states(0).producer_id() == p.producer_id;
      },
      10000));
}

TEST_F(TransactionTest, AnOpenTransactionHoldsTheStableOffsetUntilItTimesOut) {
  Producer before;
  ASSERT_EQ(Init("before", 60000, &before).error(), v1::NONE);
  ASSERT_EQ(AddPartitions(before, {0}), v1::NONE);
  ASSERT_EQ(Send(before, 0, "before", 3), v1::NONE);
  ASSERT_EQ(EndTxn(before, true), v1::NONE);
  ASSERT_TRUE(Eventually([&] { return ReadAll(0, v1::READ_COMMITTED).values.size() == 3; }, 20000));

  // Left open, with a 6 s timeout (time enough for the checks below).
  Producer open;
  ASSERT_EQ(Init("left-open", 6000, &open).error(), v1::NONE);
  ASSERT_EQ(AddPartitions(open, {0}), v1::NONE);
  ASSERT_EQ(Send(open, 0, "open", 4), v1::NONE);
  // A later committed transaction of another producer, behind the open one.
  Producer after;
  ASSERT_EQ(Init("after", 60000, &after).error(), v1::NONE);
  ASSERT_EQ(AddPartitions(after, {0}), v1::NONE);
  ASSERT_EQ(Send(after, 0, "after", 2), v1::NONE);
  ASSERT_EQ(EndTxn(after, true), v1::NONE);

  // Offsets: before 0-2, marker 3, open 4-7, after 8-9, marker 10. While
  // the open one is open, read_committed stops at its first offset.
  Read held = ReadAll(0, v1::READ_COMMITTED);
  EXPECT_EQ(held.last_stable_offset, 4);
  EXPECT_EQ(held.values.size(), 3u);
  EXPECT_GE(held.high_watermark, 8);

  // The coordinator aborts it after its timeout (checked every 300 ms):
  // the stable offset moves past everything, the open records are dropped,
  // the later committed ones appear.
  Read after_abort;
  ASSERT_TRUE(Eventually(
      [&] {
        after_abort = ReadAll(0, v1::READ_COMMITTED);
        return after_abort.last_stable_offset == after_abort.high_watermark &&
               after_abort.high_watermark >= 12;
      },
      20000))
      << "stable offset " << after_abort.last_stable_offset << ", high watermark "
      << after_abort.high_watermark;
  EXPECT_EQ(after_abort.values,
            (std::vector<std::string>{"before-0", "before-1", "before-2", "after-0", "after-1"}));
  // Its producer was fenced by the abort.
  const v1::ErrorCode end = EndTxn(open, true);
  EXPECT_TRUE(end == v1::PRODUCER_FENCED || end == v1::INVALID_PRODUCER_EPOCH)
      << v1::ErrorCode_Name(end);
}

TEST_F(TransactionTest, ASecondInitFencesTheFirstProducer) {
  Producer zombie;
  ASSERT_EQ(Init("fenced", 60000, &zombie).error(), v1::NONE);
  ASSERT_EQ(AddPartitions(zombie, {1}), v1::NONE);
  ASSERT_EQ(Send(zombie, 1, "zombie", 2), v1::NONE);

  // The newer instance: its InitProducerId aborts the zombie's transaction
  // and bumps the epoch (it may have to retry while the abort completes).
  Producer fresh;
  ASSERT_EQ(Init("fenced", 60000, &fresh).error(), v1::NONE);
  EXPECT_EQ(fresh.producer_id, zombie.producer_id);
  EXPECT_GT(fresh.epoch, zombie.epoch);

  EXPECT_EQ(AddPartitions(zombie, {1}), v1::PRODUCER_FENCED);
  EXPECT_EQ(EndTxn(zombie, true), v1::PRODUCER_FENCED);
  // Its writes to a partition the abort marker reached are refused too.
  const v1::ErrorCode late = Send(zombie, 1, "late", 1);
  EXPECT_EQ(late, v1::INVALID_PRODUCER_EPOCH) << v1::ErrorCode_Name(late);

  ASSERT_EQ(AddPartitions(fresh, {1}), v1::NONE);
  ASSERT_EQ(Send(fresh, 1, "fresh", 2), v1::NONE);
  ASSERT_EQ(EndTxn(fresh, true), v1::NONE);
  std::vector<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        Read r = ReadAll(1, v1::READ_COMMITTED);
        seen = r.values;
        return r.last_stable_offset == r.high_watermark && seen.size() == 2;
      },
      20000));
  EXPECT_EQ(seen, (std::vector<std::string>{"fresh-0", "fresh-1"}));
}

TEST_F(TransactionTest, LyingEpochsAndAdminCommitsCannotWedgeOrCommitAnotherTransaction) {
  Producer victim;
  ASSERT_EQ(Init("victim", 60000, &victim).error(), v1::NONE);
  ASSERT_EQ(AddPartitions(victim, {0}), v1::NONE);
  ASSERT_EQ(Send(victim, 0, "open", 2), v1::NONE);

  // A forged batch at a higher epoch (read off DescribeTransactions) would
  // make the coordinator's marker look old: refused.
  Producer forged = victim;
  forged.epoch = 32767;
  forged.next_sequence.clear();
  EXPECT_EQ(Send(forged, 0, "forged", 1), v1::INVALID_PRODUCER_EPOCH);

  // The public WriteTxnMarkers (for administrators) may only abort an open
  // transaction, with its producer's epoch and without raising the
  // coordinator epoch.
  const int leader = Leader(0);
  ASSERT_GT(leader, 0);
  auto admin = v1::Transaction::NewStub(Channel(leader));
  auto write = [&](int64_t producer_id, int32_t epoch, bool commit, int32_t coordinator_epoch) {
    v1::WriteTxnMarkersRequest req;
    v1::WritableTxnMarker* m = req.add_markers();
    m->set_producer_id(producer_id);
    m->set_producer_epoch(epoch);
    m->set_committed(commit);
    m->set_coordinator_epoch(coordinator_epoch);
    v1::TxnMarkerPartition* p = m->add_partitions();
    p->set_topic(kTopic);
    p->set_partition(0);
    v1::WriteTxnMarkersResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    grpc::Status s = admin->WriteTxnMarkers(&ctx, req, &resp);
    if (!s.ok() || resp.markers_size() != 1 || resp.markers(0).partitions_size() != 1) {
      return v1::UNKNOWN_SERVER_ERROR;
    }
    return resp.markers(0).partitions(0).error();
  };
  EXPECT_EQ(write(victim.producer_id, victim.epoch, /*commit=*/true, 0), v1::INVALID_REQUEST);
  EXPECT_EQ(write(victim.producer_id, 32767, false, 0), v1::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(write(victim.producer_id, victim.epoch, false, 2147483647), v1::INVALID_REQUEST);
  EXPECT_EQ(write(987654321, 0, false, 0), v1::INVALID_TXN_STATE);
  Read open = ReadAll(0, v1::READ_COMMITTED);
  EXPECT_TRUE(open.values.empty()) << "nothing of the open transaction is visible";

  // A partition asked for twice is described once.
  v1::DescribeProducersRequest describe;
  v1::TxnTopic* t = describe.add_topics();
  t->set_name(kTopic);
  t->add_partitions(0);
  t->add_partitions(0);
  v1::DescribeProducersResponse described;
  grpc::ClientContext describe_ctx;
  ASSERT_TRUE(admin->DescribeProducers(&describe_ctx, describe, &described).ok());
  ASSERT_EQ(described.partitions_size(), 2);
  EXPECT_EQ(described.partitions(0).error(), v1::NONE);
  EXPECT_EQ(described.partitions(0).active_producers_size(), 1);
  EXPECT_EQ(described.partitions(1).error(), v1::INVALID_REQUEST);
  EXPECT_EQ(described.partitions(1).active_producers_size(), 0);

  // The victim's own transaction still ends as it chooses.
  ASSERT_EQ(EndTxn(victim, /*commit=*/true), v1::NONE);
  std::vector<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        Read r = ReadAll(0, v1::READ_COMMITTED);
        seen = r.values;
        return r.last_stable_offset == r.high_watermark && seen.size() == 2;
      },
      20000));
  EXPECT_EQ(seen, (std::vector<std::string>{"open-0", "open-1"}));
}

TEST_F(TransactionTest, ANewCoordinatorFinishesATransactionAfterTheOldOneIsKilled) {
  Producer p;
  ASSERT_EQ(Init("failover", 60000, &p).error(), v1::NONE);
  ASSERT_EQ(AddPartitions(p, {0, 1}), v1::NONE);
  const int coordinator = FindCoordinator("failover");
  ASSERT_GT(coordinator, 0);
  // Records on partitions led elsewhere when possible (Send retries on the
  // new leader otherwise).
  cluster_.Kill(coordinator);
  ASSERT_EQ(Send(p, 0, "kept-0", 3), v1::NONE);
  ASSERT_EQ(Send(p, 1, "kept-1", 3), v1::NONE);
  const int next = FindCoordinator("failover", 60000);
  ASSERT_GT(next, 0);
  ASSERT_NE(next, coordinator);
  // The new coordinator loaded the Ongoing transaction with its partitions.
  ASSERT_EQ(EndTxn(p, true), v1::NONE);
  std::vector<std::string> seen;
  std::string state;
  ASSERT_TRUE(Eventually(
      [&] {
        seen.clear();
        state.clear();
        for (int32_t part : {0, 1}) {
          Read r = ReadAll(part, v1::READ_COMMITTED);
          state += " partition " + std::to_string(part) + ": stable offset " +
                   std::to_string(r.last_stable_offset) + ", high watermark " +
                   std::to_string(r.high_watermark) + " " + r.error + ";";
          if (r.last_stable_offset != r.high_watermark || r.high_watermark < 4) return false;
          seen.insert(seen.end(), r.values.begin(), r.values.end());
        }
        return true;
      },
      60000))
      << state;
  EXPECT_EQ(std::multiset<std::string>(seen.begin(), seen.end()),
            (std::multiset<std::string>{"kept-0-0", "kept-0-1", "kept-0-2", "kept-1-0", "kept-1-1",
                                        "kept-1-2"}));

  // Again, now killing the coordinator right after it answered EndTxn:
  // the commit is decided (PrepareCommit is durable) but its markers may
  // not be out; the next coordinator sends them.
  cluster_.Start(coordinator);
  ASSERT_TRUE(cluster_.WaitReady(3));
  ASSERT_EQ(AddPartitions(p, {0, 1}), v1::NONE);
  ASSERT_EQ(Send(p, 0, "second-0", 2), v1::NONE);
  ASSERT_EQ(Send(p, 1, "second-1", 2), v1::NONE);
  const int deciding = FindCoordinator("failover");
  ASSERT_GT(deciding, 0);
  ASSERT_EQ(EndTxn(p, true), v1::NONE);
  cluster_.Kill(deciding);
  std::multiset<std::string> second;
  ASSERT_TRUE(Eventually(
      [&] {
        second.clear();
        for (int32_t part : {0, 1}) {
          Read r = ReadAll(part, v1::READ_COMMITTED);
          if (r.last_stable_offset != r.high_watermark || r.high_watermark < 7) return false;
          for (const std::string& v : r.values) {
            if (v.starts_with("second")) second.insert(v);
          }
        }
        return true;
      },
      60000));
  EXPECT_EQ(second,
            (std::multiset<std::string>{"second-0-0", "second-0-1", "second-1-0", "second-1-1"}));
}

}  // namespace
}  // namespace strata::testing
