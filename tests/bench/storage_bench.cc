// Storage benchmark: how close the segment store's append path comes to a
// plain sequential write() of the same bytes to the same disk, and how fast
// it reads back from the page cache. Prints figures; asserts nothing.
//
//   storage_bench [--dir D] [--mb N] [--record-bytes B] [--batch-bytes B] [--rounds R]
//                 [--segment-mb S]
//
// Each round writes N MiB with write() to a fresh file, then appends the same
// number of bytes as v2 batches through Log::AppendAsLeader (validation, CRC,
// offset assignment, index maintenance included) to a fresh log. Both phases
// start after sync() with the previous data deleted, so neither pays for the
// other's writeback. The medians are compared. Neither side fsyncs while
// timed (Kafka's default flush policy leaves that to the OS).
//
// With --segment-mb the log rolls every S MiB (default: segment.bytes,
// 1 GiB, so the whole run is one active segment); reads then go mostly to
// rolled segments, which hold no descriptor and open their .log per read
// (segment.h) — a bare Log has no LogManager read-handle cache.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "broker/storage/file_system.h"
#include "broker/storage/log.h"
#include "client/common/clock.h"
#include "client/record/crc32c.h"
#include "client/record/record_batch.h"
#include "glog/logging.h"

namespace strata::storage {
namespace {

struct Args {
  std::string dir = "storage-bench-data";
  int64_t mb = 768;
  size_t record_bytes = 100;
  size_t batch_bytes = 16 * 1024;
  int rounds = 3;
  int64_t segment_mb = 0;  // 0: LogConfig's default segment.bytes
};

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Distinct batches of `record_bytes`-byte values filling up to `batch_bytes`.
std::vector<std::string> MakeBatches(const Args& args, int count, int* records_per_batch) {
  std::mt19937_64 rng(42);
  std::vector<std::string> batches;
  for (int b = 0; b < count; ++b) {
    record::RecordBatchBuilder builder;
    int n = 0;
    while (true) {
      record::Record r;
      r.value = std::string(args.record_bytes, '\0');
      for (char& c : *r.value) c = static_cast<char>('a' + rng() % 26);
      r.timestamp = 1'700'000'000'000 + n;
      // Leave room for this record's framing (at most ~12 bytes).
      if (n > 0 && builder.size_in_bytes() + args.record_bytes + 12 > args.batch_bytes) break;
      builder.Append(r);
      ++n;
    }
    *records_per_batch = n;
    batches.push_back(builder.Build());
  }
  return batches;
}

double WriteBaseline(const std::string& path, const std::vector<std::string>& batches, int64_t n) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  PCHECK(fd >= 0) << path;
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const std::string& b = batches[i % batches.size()];
    PCHECK(::write(fd, b.data(), b.size()) == static_cast<ssize_t>(b.size()));
  }
  double secs = Seconds(start);
  ::close(fd);
  ::unlink(path.c_str());
  return secs;
}

double AppendToLog(const Args& args, const std::string& dir, std::vector<std::string>& batches,
                   int64_t n, std::unique_ptr<Log>* keep) {
  {
    auto _s = FileSystem::Default()->DeleteDirRecursively(dir);
    CHECK(_s.ok()) << _s;
  }
  LogConfig config;
  if (args.segment_mb > 0) config.segment_bytes = args.segment_mb * 1024 * 1024;
  auto log = Log::Open(FileSystem::Default(), Clock::Real(), dir, config, false);
  {
    auto _s = log.status();
    CHECK(_s.ok()) << _s;
  }
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    auto info = (*log)->AppendAsLeader(&batches[i % batches.size()], Epoch(1));
    CHECK(info.ok()) << info.status();
  }
  double secs = Seconds(start);
  *keep = std::move(*log);
  return secs;
}

int Run(const Args& args) {
  {
    auto _s = FileSystem::Default()->CreateDirs(args.dir);
    CHECK(_s.ok()) << _s;
  }
  int per_batch = 0;
  std::vector<std::string> batches = MakeBatches(args, 64, &per_batch);
  const size_t batch_size = batches[0].size();
  const int64_t n = args.mb * 1024 * 1024 / static_cast<int64_t>(batch_size);
  const double total_mb = static_cast<double>(n) * static_cast<double>(batch_size) / 1e6;
  const int64_t records = n * per_batch;

  std::printf(
      "storage_bench: dir=%s data=%.0f MB record=%zu B batch=%zu B (%d records) "
      "batches=%lld crc32c=%s\n",
      args.dir.c_str(), total_mb, args.record_bytes, batch_size, per_batch,
      static_cast<long long>(n), record::Crc32cIsHardwareAccelerated() ? "sse4.2" : "table");

  std::vector<double> write_secs, append_secs;
  std::unique_ptr<Log> log;
  const std::string log_dir = args.dir + "/bench-0";
  for (int r = 0; r < args.rounds; ++r) {
    log.reset();
    {
      auto _s = FileSystem::Default()->DeleteDirRecursively(log_dir);
      CHECK(_s.ok()) << _s;
    }
    ::sync();
    write_secs.push_back(WriteBaseline(args.dir + "/baseline.bin", batches, n));
    ::sync();
    append_secs.push_back(AppendToLog(args, log_dir, batches, n, &log));
    std::printf("  round %d: write() %.0f MB/s, log append %.0f MB/s\n", r + 1,
                total_mb / write_secs.back(), total_mb / append_secs.back());
  }
  const double w = Median(write_secs), a = Median(append_secs);
  std::printf("write() baseline        : %10.0f MB/s  %12.0f records/s\n", total_mb / w,
              static_cast<double>(records) / w);
  std::printf("log append              : %10.0f MB/s  %12.0f records/s\n", total_mb / a,
              static_cast<double>(records) / a);
  std::printf("append / write() ratio  : %10.2f\n", w / a);

  // Reads from the page cache: the log written by the last round.
  std::vector<double> read_secs;
  for (int r = 0; r < args.rounds; ++r) {
    auto start = std::chrono::steady_clock::now();
    Offset next = log->log_start_offset();
    int64_t bytes = 0;
    while (next < log->log_end_offset()) {
      auto read = log->Read(next, 1024 * 1024, log->log_end_offset());
      CHECK(read.ok()) << read.status();
      record::BatchIterator it(read->batches);
      record::BatchHeader h;
      std::string_view b;
      while (it.Next(&h, &b)) next = h.next_offset();
      bytes += static_cast<int64_t>(read->batches.size());
    }
    read_secs.push_back(Seconds(start));
    CHECK_EQ(bytes, n * static_cast<int64_t>(batch_size));
  }
  const double rd = Median(read_secs);
  std::printf(
      "log read (page cache)   : %10.0f MB/s  %12.0f records/s  (1 MiB reads, %d segments)\n",
      total_mb / rd, static_cast<double>(records) / rd, log->num_segments());

  std::string crc_buf = batches[0];
  auto start = std::chrono::steady_clock::now();
  uint32_t crc = 0;
  for (int i = 0; i < 20000; ++i) crc = record::Crc32cExtend(crc, crc_buf.data(), crc_buf.size());
  std::printf("crc32c                  : %10.0f MB/s  (checksum %08x)\n",
              20000.0 * static_cast<double>(crc_buf.size()) / 1e6 / Seconds(start), crc);

  log.reset();
  {
    auto _s = FileSystem::Default()->DeleteDirRecursively(args.dir);
    CHECK(_s.ok()) << _s;
  }
  return 0;
}

}  // namespace
}  // namespace strata::storage

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  strata::storage::Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dir")
      args.dir = value;
    else if (flag == "--mb")
      args.mb = std::stoll(value);
    else if (flag == "--record-bytes")
      args.record_bytes = std::stoul(value);
    else if (flag == "--batch-bytes")
      args.batch_bytes = std::stoul(value);
    else if (flag == "--rounds")
      args.rounds = std::stoi(value);
    else if (flag == "--segment-mb")
      args.segment_mb = std::stoll(value);
    else {
      std::fprintf(stderr,
                   "unknown flag %s\nusage: storage_bench [--dir D] [--mb N] "
                   "[--record-bytes B] [--batch-bytes B] [--rounds R] [--segment-mb S]\n",
                   flag.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "flag %s needs a value\n", argv[argc - 1]);
    return 2;
  }
  return strata::storage::Run(args);
}
