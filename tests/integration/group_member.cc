// group_member: one consumer-group member as a process of its own, for
// tests that kill members with SIGKILL (tests/integration/group_process_test.cc).
//
//   group_member --bootstrap H:P[,H:P...] --group G --topic T --client-id C
//                [--instance-id I] [--assignor range|cooperative-sticky]
//                [--session-timeout-ms N] [--heartbeat-ms N] [--commit]
//
// It subscribes to T with a rebalance listener and reports what happens as
// one line per event on stdout, each written with a single write(2) so that
// lines never interleave with the client's log lines on stderr:
//
//   <us> ASSIGNED gen=<generation> <topic-partition,...>
//   <us> REVOKED gen=<generation> <topic-partition,...>
//   <us> LOST gen=<generation> <topic-partition,...>
//   <us> RECORD <partition> <offset> <value>
//   <us> COMMITTED <partition>=<offset>,...    (a CommitSync that succeeded)
//   <us> COMMIT_FAILED <message>
//   <us> POLL_FAILED <message>
//   <us> CLOSED
//
// <us> is CLOCK_MONOTONIC (std::chrono::steady_clock) in microseconds,
// shared by every process of the machine, so a test can order the lines of
// several members and compare them with its own clock. The list after
// ASSIGNED, REVOKED and LOST is empty when no partition is named.
//
// With --commit the member commits, synchronously, the offsets after the
// last record of each partition of every non-empty poll batch (and
// enable.auto.commit is off); without it the consumer auto-commits every
// second, Kafka's default behaviour with a shorter interval. Positions with
// no committed offset start at the earliest record. SIGTERM or SIGINT
// makes the member Close() (leaving the group unless static) and exit 0.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/consumer.h"
#include "glog/logging.h"

namespace strata::test {
namespace {

void Emit(const std::string& event) {
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
  std::string line = std::to_string(us) + " " + event + "\n";
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string Names(const std::vector<TopicPartition>& partitions) {
  std::string out;
  for (const TopicPartition& tp : partitions) out += (out.empty() ? "" : ",") + tp.ToString();
  return out;
}

// A message on one line.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

class PrintingListener : public client::ConsumerRebalanceListener {
 public:
  void set_consumer(client::Consumer* consumer) { consumer_ = consumer; }

  void OnPartitionsRevoked(const std::vector<TopicPartition>& partitions) override {
    Emit("REVOKED gen=" + std::to_string(consumer_->Generation()) + " " + Names(partitions));
  }
  void OnPartitionsAssigned(const std::vector<TopicPartition>& partitions) override {
    Emit("ASSIGNED gen=" + std::to_string(consumer_->Generation()) + " " + Names(partitions));
  }
  void OnPartitionsLost(const std::vector<TopicPartition>& partitions) override {
    Emit("LOST gen=" + std::to_string(consumer_->Generation()) + " " + Names(partitions));
  }

 private:
  client::Consumer* consumer_ = nullptr;
};

int Run(int argc, char** argv) {
  CLI::App app{"group_member: one consumer-group member, reporting its events on stdout"};
  std::string bootstrap, group, topic, client_id, instance_id;
  std::string assignor = "range";
  int session_timeout_ms = 6000;
  int heartbeat_ms = 1000;
  bool commit = false;
  app.add_option("--bootstrap", bootstrap, "bootstrap.servers")->required();
  app.add_option("--group", group, "group.id")->required();
  app.add_option("--topic", topic, "the topic to subscribe to")->required();
  app.add_option("--client-id", client_id, "client.id")->required();
  app.add_option("--instance-id", instance_id, "group.instance.id (a static member)");
  app.add_option("--assignor", assignor, "partition.assignment.strategy")
      ->check(CLI::IsMember({"range", "cooperative-sticky"}));
  app.add_option("--session-timeout-ms", session_timeout_ms, "session.timeout.ms");
  app.add_option("--heartbeat-ms", heartbeat_ms, "heartbeat.interval.ms");
  app.add_flag("--commit", commit, "CommitSync after every poll batch");
  CLI11_PARSE(app, argc, argv);

  // SIGTERM and SIGINT go to a thread of their own (blocked here, before
  // any thread starts, so every thread inherits the mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  client::Properties props = {
      {"bootstrap.servers", bootstrap},
      {"group.id", group},
      {"client.id", client_id},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", std::to_string(session_timeout_ms)},
      {"heartbeat.interval.ms", std::to_string(heartbeat_ms)},
      {"max.poll.interval.ms", "30000"},
      {"enable.auto.commit", commit ? "false" : "true"},
      {"auto.commit.interval.ms", "1000"},
      {"fetch.max.wait.ms", "200"},
      {"request.timeout.ms", "30000"},
      {"partition.assignment.strategy", assignor},
  };
  if (!instance_id.empty()) props["group.instance.id"] = instance_id;
  absl::StatusOr<client::ConsumerConfig> config =
      client::ConsumerConfig::FromProperties(props, nullptr);
  if (!config.ok()) {
    std::fprintf(stderr, "bad configuration: %s\n", config.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<client::Consumer>> created = client::Consumer::Create(*config);
  if (!created.ok()) {
    std::fprintf(stderr, "no consumer: %s\n", created.status().ToString().c_str());
    return 2;
  }
  std::unique_ptr<client::Consumer> consumer = *std::move(created);
  PrintingListener listener;
  listener.set_consumer(consumer.get());

  std::atomic<bool> stop{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stop = true;
    consumer->Wakeup();
  });

  absl::Status subscribed = consumer->Subscribe({topic}, &listener);
  if (!subscribed.ok()) {
    std::fprintf(stderr, "subscribe: %s\n", subscribed.ToString().c_str());
    ::kill(::getpid(), SIGTERM);  // ends the signal thread
    signal_thread.join();
    return 2;
  }
  while (!stop.load()) {
    absl::StatusOr<std::vector<client::ConsumerRecord>> records =
        consumer->Poll(absl::Milliseconds(200));
    if (!records.ok()) {
      if (stop.load()) break;
      Emit("POLL_FAILED " + OneLine(records.status().ToString()));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    std::map<TopicPartition, int64_t> next;
    for (const client::ConsumerRecord& r : *records) {
      Emit("RECORD " + std::to_string(r.partition) + " " + std::to_string(r.offset) + " " +
           r.value.value_or(""));
      next[TopicPartition{r.topic, PartitionId(r.partition)}] = r.offset + 1;
    }
    if (!commit || next.empty()) continue;
    absl::Status s = consumer->CommitSync(next);
    if (s.ok()) {
      std::string list;
      for (const auto& [tp, offset] : next) {
        list += (list.empty() ? "" : ",") + std::to_string(tp.partition.value()) + "=" +
                std::to_string(offset);
      }
      Emit("COMMITTED " + list);
    } else {
      Emit("COMMIT_FAILED " + OneLine(s.ToString()));
    }
  }
  consumer->Close(absl::Seconds(10));
  Emit("CLOSED");
  signal_thread.join();
  return 0;
}

}  // namespace
}  // namespace strata::test

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  return strata::test::Run(argc, argv);
}
