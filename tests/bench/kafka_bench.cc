// kafka_bench: what Kafka's protocol costs beside Strata's own. Starts a
// local three-node cluster (loopback, ports picked by the OS, stopped by PID
// at the end) and, for 100-byte and 1 KiB records, runs --rounds rounds,
// each on fresh RF 1 topics of --partitions partitions, of
//   (a) `strata producer-perf-test` over gRPC (acks=1, linger.ms=5,
//       batch.size=--batch-size) into topic G,
//   (b) a librdkafka producer over the KAFKA listener with the same
//       settings (and the rest made alike, see KafkaProducerConfig) into
//       topic K: the same number of records of the same size, timed from the
//       first produce to the last delivery report,
//   (c) `strata consumer-perf-test` over gRPC reading G from its start
//       (its fetch.nMsg.sec / fetch.MB.sec: the group join is not counted),
//   (d) a librdkafka consumer over the KAFKA listener, its partitions
//       assigned by hand at the beginning (a group.id is set, as librdkafka
//       wants, but never joined; nothing committed), taking messages in
//       batches, reading K; timed from the assign to the last record.
// With --same-topic, (d) reads G as well, so that both consumers read the
// same batches. Within a round the gRPC run goes first in odd rounds and
// second in even ones, so that a drift of the machine weighs on both.
//
// Every run is checked, and a failure ends the bench with exit code 1: each
// produced record acknowledged without error, each topic's partitions
// holding exactly N records afterwards (high minus low watermark), each
// consumer reading exactly N (librdkafka: every partition at its end, no
// record twice, each of the record size). A benchmark that measured a
// failure would be worthless.
//
// Prints each run's records/s and MB/s (MB = 2^20 bytes, as Kafka's tools)
// and the CPU seconds its client and the three nodes used, then per
// workload the medians, the ratio Kafka / gRPC, and the nodes' CPU
// microseconds per record of either path. Client and
// nodes share this machine's cores, as on a laptop. A benchmark: it prints
// figures and asserts none.
//
//   kafka_bench [--records-100 N] [--records-1k N] [--rounds R]
//               [--partitions P] [--batch-size B] [--same-topic]
//               [--debug CONTEXTS]   (librdkafka's debug contexts)
//               [--broker-config KEY=VALUE]...   (added to every node's
//                                                 properties)
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/strata_cluster.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kMiB = 1024.0 * 1024.0;
// How long a tool may run, and how long a librdkafka client may go without
// progress, before the run counts as failed.
constexpr int kToolTimeoutMs = 600000;
constexpr int kStallMs = 30000;

struct Flags {
  int64_t records_100 = 3000000;
  int64_t records_1k = 1000000;
  int rounds = 5;
  int partitions = 3;
  int batch_size = 65536;
  bool same_topic = false;
  // librdkafka's `debug` contexts (e.g. "fetch,protocol") for every client,
  // its log on stderr; empty: none.
  std::string debug;
  // Extra `key=value` lines for every node's properties (--broker-config,
  // repeatable), to measure a setting.
  std::vector<std::string> broker_config;
};

struct Rate {
  double records_per_s = 0;
  double mb_per_s = 0;
  // CPU seconds (user + system) over the whole run, the client's (its
  // start-up and group join included) and the three nodes' together.
  double client_cpu_s = 0;
  double nodes_cpu_s = 0;
};

Rate RateOf(int64_t records, int size, double seconds) {
  return {records / seconds, records * static_cast<double>(size) / kMiB / seconds};
}

// CPU seconds used so far by this process (RUSAGE_SELF: librdkafka's
// threads among them) or by its reaped children (RUSAGE_CHILDREN: the
// strata CLI runs; the nodes are reaped only at the end).
double CpuSeconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds the cluster's running nodes have used so far (utime + stime
// of /proc/PID/stat).
double NodesCpuSeconds(const StrataCluster& cluster) {
  double total = 0;
  for (int n : cluster.nodes()) {
    std::ifstream stat("/proc/" + std::to_string(cluster.pid(n)) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i >= 14) ticks += std::atof(field.c_str());  // utime, stime
    }
    total += ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return total;
}

double SecondsSince(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// ------------------------------------------------------------ strata CLI

struct ToolRun {
  int exit_code = -1;  // -1: did not finish in time
  std::string output;  // stdout and stderr
};

// Runs `strata <args>` (not StrataCluster::Cli, which stops at 60 s), its
// output kept in `log` under the cluster's directory.
ToolRun RunTool(const StrataCluster& cluster, const std::vector<std::string>& args,
                const std::string& log) {
  std::vector<std::string> argv = {STRATA_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string path = cluster.dir() + "/" + log;
  ToolRun run;
  ChildProcess child;
  if (!child.Start(argv, path)) return run;
  run.exit_code = child.WaitExit(kToolTimeoutMs);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  run.output = text.str();
  return run;  // a child still running is killed by ~ChildProcess
}

// (a): producer-perf-test's final line, "N records sent, R records/sec (M
// MB/sec), ...", for exactly `records` records.
bool GrpcProduce(const StrataCluster& cluster, const Flags& flags, const std::string& topic,
                 int64_t records, int size, Rate* out) {
  const ToolRun run = RunTool(
      cluster,
      {"producer-perf-test", "--topic", topic, "--num-records", std::to_string(records),
       "--record-size", std::to_string(size), "--throughput", "-1", "--producer-props",
       "bootstrap.servers=" + cluster.bootstrap_all(), "acks=1",
       "batch.size=" + std::to_string(flags.batch_size), "linger.ms=5", "compression.type=none"},
      topic + "-produce.txt");
  std::optional<std::string> summary;  // the last line with percentiles
  for (const std::string& line : Lines(run.output)) {
    if (line.find(" records sent, ") != std::string::npos && line.find("th.") != std::string::npos)
      summary = line;
  }
  int64_t sent = -1;
  if (summary.has_value()) {
    sent = std::atoll(summary->c_str());
    const size_t comma = summary->find(" records sent, ");
    const size_t paren = summary->find(" (", comma);
    out->records_per_s = std::atof(summary->c_str() + comma + 15);
    out->mb_per_s = paren == std::string::npos ? 0 : std::atof(summary->c_str() + paren + 2);
  }
  if (run.exit_code != 0 || sent != records) {
    std::fprintf(stderr, "producer-perf-test into %s failed (exit %d, %lld of %lld sent):\n%s\n",
                 topic.c_str(), run.exit_code, static_cast<long long>(sent),
                 static_cast<long long>(records), run.output.c_str());
    return false;
  }
  return true;
}

// (c): consumer-perf-test's figures line (start.time, end.time, MB, MB.sec,
// nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec,
// fetch.nMsg.sec) for exactly `records` records; the fetch figures.
bool GrpcConsume(const StrataCluster& cluster, const std::string& topic, int64_t records,
                 Rate* out) {
  const ToolRun run =
      RunTool(cluster,
              {"consumer-perf-test", "--bootstrap-server", cluster.bootstrap_all(), "--topic",
               topic, "--messages", std::to_string(records), "--timeout", std::to_string(kStallMs)},
              topic + "-consume.txt");
  int64_t consumed = -1;
  for (const std::string& line : Lines(run.output)) {
    std::vector<std::string> f;
    for (size_t pos = 0;;) {
      const size_t comma = line.find(", ", pos);
      f.push_back(line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 2;
    }
    if (f.size() != 10 || f[2] == "data.consumed.in.MB") continue;
    consumed = std::atoll(f[4].c_str());
    out->mb_per_s = std::atof(f[8].c_str());
    out->records_per_s = std::atof(f[9].c_str());
  }
  const bool timed_out = run.output.find("WARNING: Exiting before") != std::string::npos;
  if (run.exit_code != 0 || consumed != records || timed_out) {
    std::fprintf(stderr, "consumer-perf-test of %s failed (exit %d, %lld of %lld read):\n%s\n",
                 topic.c_str(), run.exit_code, static_cast<long long>(consumed),
                 static_cast<long long>(records), run.output.c_str());
    return false;
  }
  return true;
}

// -------------------------------------------------------------- librdkafka

std::string KafkaBootstrap(const StrataCluster& cluster) {
  std::string out;
  for (int n : cluster.nodes()) {
    out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") +
           std::to_string(cluster.kafka_port(n));
  }
  return out;
}

// Sets `key`=`value` on `conf`; false (with librdkafka's reason) if refused.
bool Set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "librdkafka %s=%s: %s\n", key, value.c_str(), err);
    return false;
  }
  return true;
}

// librdkafka's errors and logs go to stderr, prefixed, so a failed run shows
// what the client saw.
void OnError(rd_kafka_t*, int err, const char* reason, void*) {
  std::fprintf(stderr, "librdkafka error %s: %s\n",
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

void OnLog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  std::fprintf(stderr, "librdkafka log %d %s: %s\n", level, fac, buf);
}

rd_kafka_conf_t* CommonConfig(const StrataCluster& cluster, const Flags& flags) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_error_cb(conf, OnError);
  rd_kafka_conf_set_log_cb(conf, OnLog);
  // Java's clients (and so Strata's CLI) and gRPC all set TCP_NODELAY.
  if (!Set(conf, "bootstrap.servers", KafkaBootstrap(cluster)) ||
      !Set(conf, "socket.nagle.disable", "true") ||
      (!flags.debug.empty() && !Set(conf, "debug", flags.debug))) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return conf;
}

// The producer made like Strata's (client/config.h) as far as librdkafka
// allows: acks=1, linger.ms=5, batch.size the same bytes per partition
// batch (batch.num.messages at its maximum so that the bytes bind),
// buffer.memory's 32 MiB as queue.buffering.max.kbytes (a full queue makes
// produce wait, as Send() blocks), no compression, no idempotence, keyless
// records spread over the partitions (Strata's default is round-robin;
// librdkafka's random partitioner without stickiness comes closest).
rd_kafka_conf_t* KafkaProducerConfig(const StrataCluster& cluster, const Flags& flags) {
  rd_kafka_conf_t* conf = CommonConfig(cluster, flags);
  if (conf == nullptr) return nullptr;
  const std::vector<std::pair<const char*, std::string>> settings = {
      {"acks", "1"},
      {"linger.ms", "5"},
      {"batch.size", std::to_string(flags.batch_size)},
      {"batch.num.messages", "1000000"},
      {"queue.buffering.max.kbytes", "32768"},
      {"queue.buffering.max.messages", "1000000"},
      {"compression.codec", "none"},
      {"enable.idempotence", "false"},
      {"partitioner", "random"},
      {"sticky.partitioning.linger.ms", "0"},
      {"message.timeout.ms", "120000"},
  };
  for (const auto& [key, value] : settings) {
    if (!Set(conf, key, value)) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

struct Deliveries {
  int64_t ok = 0;
  int64_t failed = 0;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  Clock::time_point last;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (d->failed++ == 0) d->first_error = message->err;
  } else {
    ++d->ok;
  }
  d->last = Clock::now();
}

// Waits until `rk` knows `topic` with `partitions` partitions, each with a
// leader.
bool AwaitTopic(rd_kafka_t* rk, const std::string& topic, int partitions) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  bool ready = false;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kStallMs);
  while (!ready && Clock::now() < deadline) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
              md->topics[0].partition_cnt == partitions;
      for (int i = 0; ready && i < md->topics[0].partition_cnt; ++i) {
        ready = md->topics[0].partitions[i].leader >= 0;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (!ready) rd_kafka_poll(rk, 100);
  }
  rd_kafka_topic_destroy(rkt);
  if (!ready) std::fprintf(stderr, "librdkafka never saw %s with leaders\n", topic.c_str());
  return ready;
}

// (b)
bool KafkaProduce(const StrataCluster& cluster, const Flags& flags, const std::string& topic,
                  int64_t records, int size, Rate* out) {
  rd_kafka_conf_t* conf = KafkaProducerConfig(cluster, flags);
  if (conf == nullptr) return false;
  Deliveries deliveries;
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, &deliveries);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::fprintf(stderr, "rd_kafka_new (producer): %s\n", err);
    return false;
  }
  // As Kafka's tool: one value of random uppercase letters for every record.
  std::string value(static_cast<size_t>(size), 'A');
  std::mt19937 random(1);
  for (char& c : value) c = static_cast<char>('A' + random() % 26);

  bool ok = AwaitTopic(rk, topic, flags.partitions);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; ok && i < records; ++i) {
    // No copy: the value outlives the producer.
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, value.data(), value.size(), nullptr, 0,
                            nullptr) != 0) {
      const rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "rd_kafka_produce into %s: %s\n", topic.c_str(), rd_kafka_err2str(e));
        ok = false;
        break;
      }
      rd_kafka_poll(rk, 1);  // the queue is full: serve delivery reports
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  // Flush until everything is delivered, or nothing moved for kStallMs.
  int64_t done = -1;
  while (ok && rd_kafka_outq_len(rk) > 0) {
    if (rd_kafka_flush(rk, kStallMs) == RD_KAFKA_RESP_ERR__TIMED_OUT &&
        deliveries.ok + deliveries.failed == done) {
      std::fprintf(stderr, "librdkafka producer into %s stalled: %d still queued\n", topic.c_str(),
                   rd_kafka_outq_len(rk));
      ok = false;
    }
    done = deliveries.ok + deliveries.failed;
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  if (ok && (deliveries.ok != records || deliveries.failed != 0)) {
    std::fprintf(stderr, "librdkafka producer into %s: %lld delivered, %lld failed (first: %s)\n",
                 topic.c_str(), static_cast<long long>(deliveries.ok),
                 static_cast<long long>(deliveries.failed),
                 rd_kafka_err2name(deliveries.first_error));
    ok = false;
  }
  if (ok) *out = RateOf(records, size, SecondsSince(start, deliveries.last));
  return ok;
}

// A consumer that only assigns. librdkafka's high-level consumer wants a
// group.id for assign() and poll(), but with nothing subscribed and
// nothing committed it never joins the group. The fetch settings are
// librdkafka's defaults, which are Kafka's (max.partition.fetch.bytes 1
// MiB, as consumer-perf-test's --fetch-size; fetch.max.bytes 50 MiB;
// fetch.wait.max.ms 500; fetch.min.bytes 1), except its local queue:
// by default librdkafka stops fetching a partition once 100,000 messages
// wait in it (queued.min.messages) and looks again only after a backoff,
// so with 100-byte records the figure swung between ~0.9 M and ~2.3 M
// records/s with how the application thread happened to keep up — a
// measure of librdkafka's flow control, not of the broker. The queue may
// hold 2 M messages or 1 GiB here; the gRPC client's own prefetch is not
// bounded by a message count either.
rd_kafka_t* NewKafkaConsumer(const StrataCluster& cluster, const Flags& flags) {
  rd_kafka_conf_t* conf = CommonConfig(cluster, flags);
  if (conf == nullptr) return nullptr;
  if (!Set(conf, "queued.min.messages", "2000000") ||
      !Set(conf, "queued.max.messages.kbytes", "1048576") ||
      !Set(conf, "group.id", "kafka-bench") || !Set(conf, "enable.auto.commit", "false") ||
      !Set(conf, "enable.auto.offset.store", "false") ||
      !Set(conf, "enable.partition.eof", "true") || !Set(conf, "check.crcs", "false")) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) std::fprintf(stderr, "rd_kafka_new (consumer): %s\n", err);
  return rk;
}

// The topic's records: the sum over its partitions of high minus low
// watermark, by ListOffsets; -1 if a partition does not answer.
int64_t CountRecords(rd_kafka_t* rk, const std::string& topic, int partitions) {
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "watermarks of %s-%d: %s\n", topic.c_str(), p, rd_kafka_err2name(e));
      return -1;
    }
    total += high - low;
  }
  return total;
}

// Whether `topic` holds exactly `records` records, as Kafka's ListOffsets
// tells; checked after each produce, of either path.
bool CheckCount(const StrataCluster& cluster, const Flags& flags, const std::string& topic,
                int64_t records) {
  rd_kafka_t* rk = NewKafkaConsumer(cluster, flags);
  if (rk == nullptr) return false;
  const int64_t count = CountRecords(rk, topic, flags.partitions);
  rd_kafka_destroy(rk);
  if (count != records) {
    std::fprintf(stderr, "%s holds %lld records, not %lld\n", topic.c_str(),
                 static_cast<long long>(count), static_cast<long long>(records));
    return false;
  }
  return true;
}

// (d)
bool KafkaConsume(const StrataCluster& cluster, const Flags& flags, const std::string& topic,
                  int64_t records, int size, Rate* out) {
  rd_kafka_t* rk = NewKafkaConsumer(cluster, flags);
  if (rk == nullptr) return false;
  bool ok = AwaitTopic(rk, topic, flags.partitions);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(flags.partitions);
  for (int p = 0; p < flags.partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  // Each partition's last offset read; records come in offset order.
  std::vector<int64_t> last_offset(static_cast<size_t>(flags.partitions), -1);
  std::vector<bool> at_end(static_cast<size_t>(flags.partitions), false);
  int64_t read = 0;
  int ends = 0;
  Clock::time_point start = Clock::now();
  Clock::time_point last = start;
  Clock::time_point progress = start;
  if (ok) {
    const rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "rd_kafka_assign %s: %s\n", topic.c_str(), rd_kafka_err2name(e));
      ok = false;
    }
  }
  // Reads until every partition is at its end with no record pending; the
  // time stops at the last record. Messages come in batches from the
  // consumer queue (rd_kafka_consume_batch_queue, as confluent-kafka's
  // consume(num_messages) takes them): polled one at a time, this process's
  // share of two cores, not the broker, set the pace at 100 B.
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(1000);
  while (ok && ends < flags.partitions) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch.data(), batch.size());
    const Clock::time_point now = Clock::now();
    if (n <= 0) {
      if (now - progress > std::chrono::milliseconds(kStallMs)) {
        std::fprintf(stderr, "librdkafka consumer of %s stalled at %lld of %lld records\n",
                     topic.c_str(), static_cast<long long>(read), static_cast<long long>(records));
        ok = false;
      }
      continue;
    }
    progress = now;
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
      const size_t p = static_cast<size_t>(m->partition);
      if (!ok) {
        // Only released.
      } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // An end seen before all records may be passed again later.
        if (p < at_end.size() && !at_end[p]) ++ends;
        if (p < at_end.size()) at_end[p] = true;
      } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::fprintf(stderr, "librdkafka consumer of %s: %s: %s\n", topic.c_str(),
                     rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        ok = false;
      } else if (p >= last_offset.size() || m->offset <= last_offset[p] ||
                 m->len != static_cast<size_t>(size)) {
        std::fprintf(stderr,
                     "librdkafka consumer of %s: partition %d offset %lld of %zu bytes "
                     "(expected past %lld, %d bytes)\n",
                     topic.c_str(), m->partition, static_cast<long long>(m->offset), m->len,
                     static_cast<long long>(p < last_offset.size() ? last_offset[p] : -1), size);
        ok = false;
      } else {
        last_offset[p] = m->offset;
        if (at_end[p]) --ends;
        at_end[p] = false;
        ++read;
        last = now;
      }
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (ok && read != records) {
    std::fprintf(stderr, "librdkafka consumer of %s read %lld records, not %lld\n", topic.c_str(),
                 static_cast<long long>(read), static_cast<long long>(records));
    ok = false;
  }
  if (ok) *out = RateOf(records, size, SecondsSince(start, last));
  return ok;
}

// ------------------------------------------------------------------ rounds

bool CreateTopic(StrataCluster& cluster, const std::string& topic, int partitions) {
  const CliResult created =
      cluster.Cli({"topics", "--bootstrap-server", cluster.bootstrap(1), "--create", "--topic",
                   topic, "--partitions", std::to_string(partitions), "--replication-factor", "1"});
  if (created.exit_code != 0) {
    std::fprintf(stderr, "create %s: %s%s\n", topic.c_str(), created.out.c_str(),
                 created.err.c_str());
    return false;
  }
  // Every node knows every partition's leader before the clock starts.
  const bool led = Eventually(
      [&] {
        for (int n : cluster.nodes()) {
          const std::map<int, PartitionLine> lines = cluster.Describe(topic, n);
          if (static_cast<int>(lines.size()) != partitions) return false;
          for (const auto& [p, line] : lines) {
            if (line.leader < 0) return false;
          }
        }
        return true;
      },
      30000);
  if (!led) std::fprintf(stderr, "%s has no leader for every partition\n", topic.c_str());
  return led;
}

enum Workload { kGrpcProduce, kKafkaProduce, kGrpcConsume, kKafkaConsume, kWorkloads };
const char* const kWorkloadNames[kWorkloads] = {"produce gRPC", "produce Kafka", "consume gRPC",
                                                "consume Kafka"};

void PrintRun(int size, int round, Workload w, const Rate& r) {
  std::printf("%-6d %-6d %-15s %12.0f %9.1f %11.2f %10.2f\n", size, round, kWorkloadNames[w],
              r.records_per_s, r.mb_per_s, r.client_cpu_s, r.nodes_cpu_s);
  std::fflush(stdout);
}

// One round for one record size: (a)-(d), gRPC first when `grpc_first`.
bool Round(StrataCluster& cluster, const Flags& flags, int size, int64_t records, int round,
           std::array<std::vector<Rate>, kWorkloads>& rates) {
  const std::string suffix = std::to_string(size) + "-r" + std::to_string(round);
  const std::string grpc_topic = "grpc-" + suffix;
  const std::string kafka_topic = "kafka-" + suffix;
  if (!CreateTopic(cluster, grpc_topic, flags.partitions) ||
      !CreateTopic(cluster, kafka_topic, flags.partitions)) {
    return false;
  }
  const bool grpc_first = round % 2 == 1;
  // Runs `run`, noting its CPU use: the client's is this process's for
  // librdkafka, the CLI child's for gRPC.
  auto measured = [&](Workload w, Rate* r, const std::function<bool()>& run) {
    const int who = w == kGrpcProduce || w == kGrpcConsume ? RUSAGE_CHILDREN : RUSAGE_SELF;
    const double client = CpuSeconds(who);
    const double nodes = NodesCpuSeconds(cluster);
    const bool ok = run();
    r->client_cpu_s = CpuSeconds(who) - client;
    r->nodes_cpu_s = NodesCpuSeconds(cluster) - nodes;
    return ok;
  };
  auto produce = [&](Workload w) {
    Rate r;
    const bool grpc = w == kGrpcProduce;
    const std::string& topic = grpc ? grpc_topic : kafka_topic;
    const bool ok = measured(w, &r,
                             [&] {
                               return grpc ? GrpcProduce(cluster, flags, topic, records, size, &r)
                                           : KafkaProduce(cluster, flags, topic, records, size, &r);
                             }) &&
                    CheckCount(cluster, flags, topic, records);
    if (ok) {
      rates[w].push_back(r);
      PrintRun(size, round, w, r);
    }
    return ok;
  };
  auto consume = [&](Workload w) {
    Rate r;
    const bool ok = measured(w, &r, [&] {
      return w == kGrpcConsume
                 ? GrpcConsume(cluster, grpc_topic, records, &r)
                 : KafkaConsume(cluster, flags, flags.same_topic ? grpc_topic : kafka_topic,
                                records, size, &r);
    });
    if (ok) {
      rates[w].push_back(r);
      PrintRun(size, round, w, r);
    }
    return ok;
  };
  const bool ok = grpc_first ? produce(kGrpcProduce) && produce(kKafkaProduce) &&
                                   consume(kGrpcConsume) && consume(kKafkaConsume)
                             : produce(kKafkaProduce) && produce(kGrpcProduce) &&
                                   consume(kKafkaConsume) && consume(kGrpcConsume);
  // A passed round's topics go, so that rounds do not fill the disk; a
  // failed one's stay for a look.
  for (const std::string& topic : {grpc_topic, kafka_topic}) {
    if (!ok) break;
    const CliResult deleted = cluster.Cli(
        {"topics", "--bootstrap-server", cluster.bootstrap(1), "--delete", "--topic", topic});
    if (deleted.exit_code != 0) {
      std::fprintf(stderr, "delete %s (the bench goes on): %s%s\n", topic.c_str(),
                   deleted.out.c_str(), deleted.err.c_str());
    }
  }
  return ok;
}

int Main(const Flags& flags) {
  // No group join delay: consumer-perf-test's group of one is assigned at
  // once (its fetch figures leave the join out anyway).
  std::vector<std::string> config = {"group.initial.rebalance.delay.ms=0"};
  config.insert(config.end(), flags.broker_config.begin(), flags.broker_config.end());
  StrataCluster cluster(3, config);
  cluster.StartAll();
  if (!cluster.WaitReady(3)) {
    std::fprintf(stderr, "cluster not ready; logs in %s\n", cluster.dir().c_str());
    cluster.KeepData();
    return 1;
  }
  std::printf(
      "kafka_bench: 3 local nodes, RF 1, %d partitions per topic, acks=1, "
      "batch.size=%d, linger.ms=5, %d rounds; librdkafka %s%s\n\n",
      flags.partitions, flags.batch_size, flags.rounds, rd_kafka_version_str(),
      flags.same_topic ? "; both consumers read the gRPC-produced topic" : "");
  std::printf("%-6s %-6s %-15s %12s %9s %11s %10s\n", "record", "round", "run", "records/s", "MB/s",
              "client CPU", "nodes CPU");
  std::map<int, std::array<std::vector<Rate>, kWorkloads>> results;
  bool ok = true;
  const std::vector<std::pair<int, int64_t>> sizes = {{100, flags.records_100},
                                                      {1024, flags.records_1k}};
  for (const auto& [size, records] : sizes) {
    if (records <= 0) continue;
    for (int round = 1; ok && round <= flags.rounds; ++round) {
      ok = Round(cluster, flags, size, records, round, results[size]);
    }
    if (!ok) break;
  }
  if (!ok) {
    std::fprintf(stderr, "kafka_bench FAILED; logs in %s\n", cluster.dir().c_str());
    cluster.KeepData();
    return 1;
  }
  std::printf("\nmedians of %d rounds\n", flags.rounds);
  std::printf("%-6s %-8s %12s %9s %12s %9s %14s %18s\n", "record", "workload", "gRPC rec/s", "MB/s",
              "Kafka rec/s", "MB/s", "Kafka / gRPC", "nodes us/rec g / k");
  for (const auto& [size, records] : sizes) {
    if (records <= 0) continue;
    const std::array<std::vector<Rate>, kWorkloads>& r = results[size];
    for (const auto& [name, grpc, kafka] : {std::tuple{"produce", kGrpcProduce, kKafkaProduce},
                                            std::tuple{"consume", kGrpcConsume, kKafkaConsume}}) {
      std::vector<double> grpc_records, grpc_mb, grpc_us, kafka_records, kafka_mb, kafka_us;
      for (const Rate& x : r[grpc]) {
        grpc_records.push_back(x.records_per_s);
        grpc_mb.push_back(x.mb_per_s);
        grpc_us.push_back(x.nodes_cpu_s * 1e6 / static_cast<double>(records));
      }
      for (const Rate& x : r[kafka]) {
        kafka_records.push_back(x.records_per_s);
        kafka_mb.push_back(x.mb_per_s);
        kafka_us.push_back(x.nodes_cpu_s * 1e6 / static_cast<double>(records));
      }
      const double g = Median(grpc_records);
      const double k = Median(kafka_records);
      std::printf("%-6d %-8s %12.0f %9.1f %12.0f %9.1f %14.2f %8.2f / %-7.2f\n", size, name, g,
                  Median(grpc_mb), k, Median(kafka_mb), g > 0 ? k / g : 0, Median(grpc_us),
                  Median(kafka_us));
    }
  }
  return 0;
}

}  // namespace
}  // namespace strata::testing

int main(int argc, char** argv) {
  strata::testing::Flags flags;
  const char* const kUsage =
      "usage: kafka_bench [--records-100 N] [--records-1k N] [--rounds R] [--partitions P]\n"
      "                   [--batch-size B] [--same-topic] [--debug CONTEXTS]\n"
      "                   [--broker-config KEY=VALUE]...\n";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--same-topic") {
      flags.same_topic = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    if (arg == "--debug") {
      flags.debug = argv[++i];
      continue;
    }
    if (arg == "--broker-config") {
      const std::string line = argv[++i];
      if (line.find('=') == std::string::npos) {
        std::fputs(kUsage, stderr);
        return 2;
      }
      flags.broker_config.push_back(line);
      continue;
    }
    const int64_t v = std::atoll(argv[++i]);
    if (arg == "--records-100" && v >= 0) {
      flags.records_100 = v;
    } else if (arg == "--records-1k" && v >= 0) {
      flags.records_1k = v;
    } else if (arg == "--rounds" && v > 0) {
      flags.rounds = static_cast<int>(v);
    } else if (arg == "--partitions" && v > 0) {
      flags.partitions = static_cast<int>(v);
    } else if (arg == "--batch-size" && v > 0) {
      flags.batch_size = static_cast<int>(v);
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  return strata::testing::Main(flags);
}
