// eos_copier_cpp: a consume-transform-produce copier inside transactions,
// written with Strata's own client (client/producer.h, client/consumer.h):
// the C++ twin of eos_copier.py, the process scenario_eos_copier.py
// SIGKILLs and restarts when run with STRATA_EOS_COPIER=cpp.
//
//   eos_copier_cpp BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID
//
// BOOTSTRAP is the cluster's gRPC bootstrap (the PLAINTEXT listeners), not
// its Kafka listeners. Reads INPUT as the group's static member
// (group.instance.id = TRANSACTIONAL_ID, read_committed), and for each
// poll's records writes "copy:<value>" to the same partition of OUTPUT and
// commits the consumed positions in the same transaction
// (SendOffsetsToTransaction with the consumer's generation and member id).
//
// Errors, as eos_copier.py handles them: a fatal one (the producer in
// FATAL_ERROR, e.g. fenced) prints "fatal: <error>" on stderr and exits 3;
// any other prints "aborting: <error>", aborts the transaction (exit 3 if
// that leaves FATAL_ERROR) and rewinds the consumer to the group's
// committed offsets (0 where none). Two differences the C++ client's
// contract asks for: a commit or an abort that timed out is called again
// until it finishes (this client allows no other call meanwhile), and a
// commit that succeeded while one of its records' callbacks reported a
// failure (or did not run) is a broken promise of the client: "invariant:"
// on stderr, exit 4. Every line on stderr starts with the local time
// (HH:MM:SS.mmm, as the nodes' logs); "copied N records in T transactions"
// lines, at most one a second, show whether a kill found the copier at
// work. Runs until killed.
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/config.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "client/producer.h"
#include "glog/logging.h"

namespace strata::interop {
namespace {

using client::TransactionState;

// eos_copier.py's timeouts for the transactional calls.
constexpr absl::Duration kInitTimeout = absl::Seconds(60);
constexpr absl::Duration kTxnCallTimeout = absl::Seconds(30);
constexpr absl::Duration kPollTimeout = absl::Milliseconds(500);

// A message on one line, so that copier.log keeps one event per line.
std::string OneLine(const absl::Status& status) {
  std::string s = status.ToString();
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// "HH:MM:SS.mmm", local time as the nodes' log lines have it, so that
// copier.log lines up with node<N>.log.
std::string Clock() { return absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()); }

// stderr is unbuffered: each line reaches copier.log before a SIGKILL can.
void Say(const char* prefix, const absl::Status& status) {
  std::fprintf(stderr, "%s %s: %s\n", Clock().c_str(), prefix, OneLine(status).c_str());
}

// The answers to one transaction's records, counted by their callbacks
// (on the producer's sender thread). Shared with the callbacks, which an
// abort that timed out may still run after the transaction is left.
struct Answers {
  std::atomic<int64_t> ok{0};
  std::atomic<int64_t> failed{0};
};

class Copier {
 public:
  Copier(std::string input, std::string output, std::string group, std::string transactional_id,
         std::unique_ptr<client::Consumer> consumer, std::unique_ptr<client::Producer> producer)
      : input_(std::move(input)),
        output_(std::move(output)),
        group_(std::move(group)),
        transactional_id_(std::move(transactional_id)),
        consumer_(std::move(consumer)),
        producer_(std::move(producer)) {}

  // Returns only with the process's exit status.
  int Run() {
    const absl::Time start = absl::Now();
    if (absl::Status s = producer_->InitTransactions(kInitTimeout); !s.ok()) {
      Say("init", s);
      return 1;
    }
    std::fprintf(stderr, "%s initialized in %.1f s\n", Clock().c_str(),
                 absl::ToDoubleSeconds(absl::Now() - start));
    if (absl::Status s = consumer_->Subscribe({input_}); !s.ok()) {
      Say("subscribe", s);
      return 1;
    }
    while (true) {
      absl::StatusOr<std::vector<client::ConsumerRecord>> records = consumer_->Poll(kPollTimeout);
      if (!records.ok()) {
        // confluent_kafka's consume() raises only for fatal consumer errors;
        // fenced as a static member is the one that never heals.
        if (client::ErrorCodeOf(records.status()) == v1::FENCED_INSTANCE_ID) {
          Say("fatal", records.status());
          return 3;
        }
        Say("poll", records.status());
        absl::SleepFor(absl::Milliseconds(100));
        continue;
      }
      if (records->empty()) {
        ReportProgress(/*when_idle=*/true);
        continue;
      }
      auto answers = std::make_shared<Answers>();
      absl::Status s = CopyInTransaction(*records, answers);
      if (s.ok()) {
        if (!EveryRecordWritten(*answers, records->size())) return 4;
        copied_ += static_cast<int64_t>(records->size());
        ++transactions_;
        ReportProgress(/*when_idle=*/false);
        continue;
      }
      if (int exit_status = Recover(s); exit_status >= 0) return exit_status;
    }
  }

 private:
  // While copying at most one line a second, and the total when the input
  // runs dry: whether the copier was at work when a kill came.
  void ReportProgress(bool when_idle) {
    const absl::Time now = absl::Now();
    if (transactions_ == reported_transactions_ ||
        (!when_idle && now - last_report_ < absl::Seconds(1))) {
      return;
    }
    last_report_ = now;
    reported_transactions_ = transactions_;
    std::fprintf(stderr, "%s copied %lld records in %lld transactions\n", Clock().c_str(),
                 static_cast<long long>(copied_), static_cast<long long>(transactions_));
  }

  bool Fatal(const absl::Status& error) {
    return producer_->transaction_state() == TransactionState::kFatalError ||
           client::ErrorCodeOf(error) == v1::PRODUCER_FENCED;
  }

  // Begin, send, offsets, commit; the records' callbacks count in
  // `answers`.
  absl::Status CopyInTransaction(const std::vector<client::ConsumerRecord>& records,
                                 const std::shared_ptr<Answers>& answers) {
    if (absl::Status s = producer_->BeginTransaction(); !s.ok()) return s;
    for (const client::ConsumerRecord& r : records) {
      client::ProducerRecord copy;
      copy.topic = output_;
      copy.partition = r.partition;
      copy.value = "copy:" + r.value.value_or("");
      producer_->Send(std::move(copy),
                      [answers](const absl::StatusOr<client::RecordMetadata>& written) {
                        (written.ok() ? answers->ok : answers->failed).fetch_add(1);
                      });
    }
    std::map<TopicPartition, client::OffsetAndMetadata> offsets;
    for (const TopicPartition& tp : consumer_->Assignment()) {
      absl::StatusOr<int64_t> position = consumer_->Position(tp);
      if (!position.ok()) return position.status();
      offsets[tp].offset = *position;
    }
    client::ConsumerGroupMetadata group{group_, consumer_->Generation(), consumer_->MemberId(),
                                        transactional_id_};
    if (absl::Status s = producer_->SendOffsetsToTransaction(offsets, group); !s.ok()) return s;
    absl::Status s = producer_->CommitTransaction(kTxnCallTimeout);
    // A commit that timed out stays COMMITTING_TRANSACTION: only the same
    // call may finish it (it may have reached the coordinator).
    while (!s.ok() && producer_->transaction_state() == TransactionState::kCommittingTransaction) {
      Say("commit unfinished, calling it again", s);
      s = producer_->CommitTransaction(kTxnCallTimeout);
    }
    return s;
  }

  // A committed transaction's records all succeeded: the commit waits for
  // every record's answer and fails if one failed.
  static bool EveryRecordWritten(const Answers& answers, size_t records) {
    const int64_t ok = answers.ok.load();
    const int64_t failed = answers.failed.load();
    if (ok == static_cast<int64_t>(records) && failed == 0) return true;
    std::fprintf(stderr,
                 "%s invariant: a transaction committed with %lld of its %zu records "
                 "acknowledged and %lld failed\n",
                 Clock().c_str(), static_cast<long long>(ok), records,
                 static_cast<long long>(failed));
    return false;
  }

  // After a failed transaction: -1 to go on, or the exit status.
  int Recover(const absl::Status& error) {
    if (Fatal(error)) {
      Say("fatal", error);
      return 3;
    }
    Say("aborting", error);
    while (true) {
      absl::Status s = producer_->AbortTransaction(kTxnCallTimeout);
      if (s.ok()) break;
      if (Fatal(s)) {
        Say("fatal", s);
        return 3;
      }
      // Timed out: ABORTING_TRANSACTION until the same call finishes it.
      if (producer_->transaction_state() == TransactionState::kAbortingTransaction) {
        Say("abort unfinished, calling it again", s);
        continue;
      }
      // Not in a transaction at all (BeginTransaction itself failed):
      // nothing to abort.
      Say("abort failed", s);
      break;
    }
    Rewind();
    return -1;
  }

  // The consumer back to the group's committed offsets (0 where none), so
  // that the aborted transaction's records are read and copied again.
  void Rewind() {
    std::vector<TopicPartition> assignment = consumer_->Assignment();
    if (assignment.empty()) return;
    const std::set<TopicPartition> partitions(assignment.begin(), assignment.end());
    while (true) {
      absl::StatusOr<std::map<TopicPartition, int64_t>> committed =
          consumer_->Committed(partitions);
      if (!committed.ok()) {
        // Going on without the rewind would skip the aborted records.
        Say("rewind: no committed offsets, asking again", committed.status());
        absl::SleepFor(absl::Milliseconds(500));
        continue;
      }
      for (const TopicPartition& tp : assignment) {
        auto it = committed->find(tp);
        consumer_->Seek(tp, it != committed->end() && it->second >= 0 ? it->second : 0);
      }
      return;
    }
  }

  const std::string input_;
  const std::string output_;
  const std::string group_;
  const std::string transactional_id_;
  std::unique_ptr<client::Consumer> consumer_;
  std::unique_ptr<client::Producer> producer_;
  // Since this process started.
  int64_t copied_ = 0;
  int64_t transactions_ = 0;
  int64_t reported_transactions_ = 0;
  absl::Time last_report_ = absl::InfinitePast();
};

int Main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID\n", argv[0]);
    return 2;
  }
  const std::string bootstrap = argv[1], input = argv[2], output = argv[3], group = argv[4],
                    transactional_id = argv[5];
  // As eos_copier.py's librdkafka settings; consume(200, 0.5) is
  // max.poll.records=200 with Poll(500 ms), message.timeout.ms is
  // delivery.timeout.ms, and max.block.ms bounds SendOffsetsToTransaction
  // (eos_copier.py gives it 30 s).
  const client::Properties consumer_props = {
      {"bootstrap.servers", bootstrap},
      {"group.id", group},
      {"group.instance.id", transactional_id},
      {"enable.auto.commit", "false"},
      {"isolation.level", "read_committed"},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"max.poll.records", "200"},
  };
  const client::Properties producer_props = {
      {"bootstrap.servers", bootstrap},
      {"transactional.id", transactional_id},
      {"transaction.timeout.ms", "10000"},
      {"delivery.timeout.ms", "9000"},
      {"linger.ms", "5"},
      {"max.block.ms", "30000"},
  };
  absl::StatusOr<client::ConsumerConfig> consumer_config =
      client::ConsumerConfig::FromProperties(consumer_props, nullptr);
  absl::StatusOr<client::ProducerConfig> producer_config =
      client::ProducerConfig::FromProperties(producer_props, nullptr);
  if (!consumer_config.ok() || !producer_config.ok()) {
    Say("bad configuration",
        consumer_config.ok() ? producer_config.status() : consumer_config.status());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create(*std::move(consumer_config));
  if (!consumer.ok()) {
    Say("no consumer", consumer.status());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<client::Producer>> producer =
      client::Producer::Create(*std::move(producer_config));
  if (!producer.ok()) {
    Say("no producer", producer.status());
    return 2;
  }
  Copier copier(input, output, group, transactional_id, *std::move(consumer), *std::move(producer));
  return copier.Run();
}

}  // namespace
}  // namespace strata::interop

int main(int argc, char** argv) {
  // The client library's warnings reach copier.log (the scenario sends
  // stdout and stderr there), as the strata CLI's do.
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = google::GLOG_WARNING;
  google::InitGoogleLogging(argv[0]);
  return strata::interop::Main(argc, argv);
}
