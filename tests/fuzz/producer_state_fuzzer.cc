// libFuzzer target: a partition log's idempotent-producer state
// (producer_state.h) against a simple model, over random sequences of
// appends, retries, gaps, epoch bumps, multi-batch requests, truncations,
// log-start moves, clean and unclean restarts and power losses, on the
// in-memory file system.
//
// The model is the list of batches in the log, nothing more: after each
// step the log's producers must be exactly those with a batch at or above
// the log start, each with the epoch and last sequence of its last batch;
// a retry of a batch must be a duplicate answered with that batch's own
// offsets exactly when it lies in one of its producer's last five runs
// (recomputed from the list), and refused otherwise; no snapshot may lie
// above the log end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/storage/kafka_error.h"
#include "broker/storage/log.h"
#include "broker/storage/mem_file_system.h"
#include "client/record/record_batch.h"

namespace {

using namespace strata;
using namespace strata::storage;

constexpr char kDir[] = "/data/fuzz-0";
constexpr int kProducers = 3;

[[noreturn]] void Fail(const char* what) {
  fprintf(stderr, "producer_state_fuzzer: %s\n", what);
  std::abort();
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | Byte();
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct ModelBatch {
  int64_t pid;
  int16_t epoch;
  int32_t first_seq;
  int32_t count;
  int64_t base;
  int32_t last_seq() const {
    return static_cast<int32_t>((int64_t{first_seq} + count - 1) % (int64_t{INT32_MAX} + 1));
  }
  int64_t last() const { return base + count - 1; }
};

std::string Build(int64_t pid, int16_t epoch, int32_t seq, int count) {
  record::RecordBatchBuilder builder;
  builder.set_producer(pid, epoch, seq);
  for (int i = 0; i < count; ++i) {
    record::Record r;
    r.value = "x";
    r.timestamp = 1'700'000'000'000;
    builder.Append(r);
  }
  return builder.Build();
}

struct World {
  MemFileSystem fs;
  ManualClock clock;
  LogConfig config;
  std::unique_ptr<Log> log;
  std::vector<ModelBatch> batches;  // in the log, by offset
  int64_t log_start = 0;
  int64_t log_end = 0;
  int16_t client_epoch[kProducers] = {0, 0, 0};

  void Open(bool clean) {
    absl::StatusOr<std::unique_ptr<Log>> opened = Log::Open(&fs, &clock, kDir, config, clean);
    if (!opened.ok()) Fail("open failed");
    log = std::move(*opened);
  }

  // The model after the log lost everything from `end` on.
  // A batch holding `end` goes whole.
  void CutModel(int64_t end) {
    int64_t new_end = std::min(log_end, end);
    while (!batches.empty() && batches.back().last() >= end) {
      new_end = std::min(new_end, batches.back().base);
      batches.pop_back();
    }
    log_end = new_end;
  }

  const ModelBatch* Last(int64_t pid) const {
    for (auto it = batches.rbegin(); it != batches.rend(); ++it) {
      if (it->pid == pid) return &*it;
    }
    return nullptr;
  }
  bool Known(int64_t pid) const {
    const ModelBatch* last = Last(pid);
    return last != nullptr && last->last() >= log_start;
  }

  // Indexes (into batches) of the first batch of each of pid's runs in its
  // current epoch, oldest first.
  std::vector<size_t> RunStarts(int64_t pid) const {
    std::vector<size_t> starts;
    const ModelBatch* prev = nullptr;
    for (size_t i = 0; i < batches.size(); ++i) {
      const ModelBatch& b = batches[i];
      if (b.pid != pid) continue;
      if (prev != nullptr && prev->epoch != b.epoch) starts.clear();
      const bool extends = prev != nullptr && prev->epoch == b.epoch &&
                           prev->last_seq() != INT32_MAX && prev->first_seq <= prev->last_seq() &&
                           b.first_seq <= b.last_seq() && b.first_seq == prev->last_seq() + 1 &&
                           b.base == prev->last() + 1;
      if (!extends) starts.push_back(i);
      prev = &b;
    }
    return starts;
  }
  // Whether batch `i` is in one of its producer's last five runs.
  bool InWindow(size_t i) const {
    std::vector<size_t> starts = RunStarts(batches[i].pid);
    if (starts.empty()) return false;
    const size_t oldest = starts.size() > 5 ? starts[starts.size() - 5] : starts[0];
    return i >= oldest && batches[i].epoch == Last(batches[i].pid)->epoch;
  }

  void CheckInvariants() {
    if (log->log_end_offset().value() != log_end) Fail("log end differs from the model");
    if (log->log_start_offset().value() != log_start) Fail("log start differs from the model");
    std::map<int64_t, ProducerStateView> views;
    for (const ProducerStateView& v : log->ActiveProducers()) views[v.producer_id] = v;
    for (int64_t pid = 0; pid < kProducers; ++pid) {
      auto it = views.find(pid);
      if (!Known(pid)) {
        if (it != views.end()) Fail("a producer without batches above the log start is kept");
        continue;
      }
      if (it == views.end()) Fail("a producer with batches is missing");
      const ModelBatch* last = Last(pid);
      if (it->second.epoch != last->epoch) Fail("epoch differs");
      if (it->second.last_sequence != last->last_seq()) Fail("last sequence differs");
    }
    if (views.size() > static_cast<size_t>(kProducers)) Fail("unknown producers");
    absl::StatusOr<std::vector<Offset>> snaps = ListProducerSnapshots(&fs, kDir);
    if (!snaps.ok()) Fail("cannot list snapshots");
    for (Offset at : *snaps) {
      if (at.value() > log_end) Fail("a snapshot lies above the log end");
    }
  }

  // Appends as leader; checks the outcome against `expect` (0: appended,
  // 1: duplicate at [dup_first, dup_last], else the Kafka code).
  void Append(std::vector<ModelBatch> sent, int expect, int64_t dup_first = 0,
              int64_t dup_last = 0) {
    std::vector<std::string> bytes;
    for (const ModelBatch& b : sent) bytes.push_back(Build(b.pid, b.epoch, b.first_seq, b.count));
    absl::StatusOr<LogAppendInfo> info = log->AppendAsLeader(&bytes, Epoch(1));
    if (expect == 0) {
      if (!info.ok()) Fail("a good append was refused");
      if (info->duplicate) Fail("a new batch was taken for a duplicate");
      if (info->first_offset.value() != log_end) Fail("appended at the wrong offset");
      for (ModelBatch& b : sent) {
        b.base = log_end;
        log_end += b.count;
        batches.push_back(b);
      }
      if (info->last_offset.value() != log_end - 1) Fail("wrong last offset");
      return;
    }
    if (expect == 1) {
      if (!info.ok()) Fail("a retry in the window was refused");
      if (!info->duplicate) Fail("a retry was appended again");
      if (info->first_offset.value() != dup_first || info->last_offset.value() != dup_last) {
        Fail("a duplicate was answered with other offsets than the original's");
      }
      return;
    }
    if (info.ok()) Fail("a bad append was accepted");
    if (KafkaErrorOf(info.status()) != expect) Fail("a bad append got the wrong error");
  }

  int32_t NextSeq(int64_t pid) const {
    const ModelBatch* last = Last(pid);
    return static_cast<int32_t>((int64_t{last->last_seq()} + 1) % (int64_t{INT32_MAX} + 1));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // PRODUCER_STATE_FUZZER_TRACE=1 prints each step (to replay a finding).
  static const bool trace = getenv("PRODUCER_STATE_FUZZER_TRACE") != nullptr;
  Input in(data, size);
  World w;
  w.config.segment_bytes = 300 + in.Byte() * 4;
  w.fs.SetDirectoryOpsNeedSync(in.Byte() & 1);
  w.Open(false);
  for (int step = 0; step < 64 && !in.empty(); ++step) {
    const uint8_t op = in.Byte() % 12;
    const int64_t pid = in.Byte() % kProducers;
    const int count = 1 + in.Byte() % 4;
    if (trace) {
      fprintf(stderr, "step %d: op %d pid %lld count %d (log [%lld, %lld), %zu batches)\n", step,
              op, static_cast<long long>(pid), count, static_cast<long long>(w.log_start),
              static_cast<long long>(w.log_end), w.batches.size());
    }
    switch (op) {
      case 0:
      case 1:
      case 2: {  // the next batch(es) in sequence
        const int n = op == 2 ? 2 + count % 3 : 1;
        int32_t seq = w.Known(pid)
                          ? w.NextSeq(pid)
                          : (in.Byte() & 1 ? INT32_MAX - static_cast<int32_t>(in.Byte() % 8)
                                           : static_cast<int32_t>(in.U32() % 1000));
        int16_t epoch = w.Known(pid) ? w.Last(pid)->epoch : w.client_epoch[pid];
        w.client_epoch[pid] = epoch;
        std::vector<ModelBatch> sent;
        for (int i = 0; i < n; ++i) {
          sent.push_back({pid, epoch, seq, count, 0});
          seq = static_cast<int32_t>((int64_t{seq} + count) % (int64_t{INT32_MAX} + 1));
        }
        w.Append(sent, 0);
        break;
      }
      case 3:
      case 4: {  // a retry of a batch above the log start (or two adjacent)
        std::vector<size_t> candidates;
        for (size_t i = 0; i < w.batches.size(); ++i) {
          if (w.batches[i].base >= w.log_start) candidates.push_back(i);
        }
        if (candidates.empty()) break;
        const size_t i = candidates[in.Byte() % candidates.size()];
        const ModelBatch& b = w.batches[i];
        const ModelBatch* last = w.Last(b.pid);
        if (b.epoch < last->epoch) {
          w.Append({b}, kKafkaInvalidProducerEpoch);
          break;
        }
        if (op == 4 && i + 1 < w.batches.size() && w.batches[i + 1].pid == b.pid &&
            w.batches[i + 1].base == b.last() + 1 && w.batches[i + 1].epoch == b.epoch) {
          const ModelBatch& c = w.batches[i + 1];
          if (w.InWindow(i) && w.InWindow(i + 1)) {
            w.Append({b, c}, 1, b.base, c.last());
          } else {
            w.Append({b, c}, kKafkaOutOfOrderSequenceNumber);
          }
          break;
        }
        if (w.InWindow(i)) {
          w.Append({b}, 1, b.base, b.last());
        } else {
          w.Append({b}, kKafkaOutOfOrderSequenceNumber);
        }
        break;
      }
      case 5: {  // a gap, or a retry mixed with a new batch
        if (!w.Known(pid)) break;
        const ModelBatch* last = w.Last(pid);
        ModelBatch next{pid, last->epoch, w.NextSeq(pid), count, 0};
        if (in.Byte() & 1) {
          ModelBatch gap = next;
          gap.first_seq = static_cast<int32_t>((int64_t{next.first_seq} + 1 + in.Byte() % 5) %
                                               (int64_t{INT32_MAX} + 1));
          w.Append({gap}, kKafkaOutOfOrderSequenceNumber);
        } else {
          const ModelBatch old = *last;  // in the window: its own last run
          w.Append({old, next}, kKafkaOutOfOrderSequenceNumber);
        }
        break;
      }
      case 6: {  // an epoch bump, or a fenced older epoch
        if (w.Known(pid) && w.Last(pid)->epoch > 0 && (in.Byte() & 1)) {
          const ModelBatch* last = w.Last(pid);
          w.Append({{pid, static_cast<int16_t>(last->epoch - 1), w.NextSeq(pid), count, 0}},
                   kKafkaInvalidProducerEpoch);
          break;
        }
        const int16_t epoch =
            static_cast<int16_t>((w.Known(pid) ? w.Last(pid)->epoch : w.client_epoch[pid]) + 1);
        if (w.Known(pid)) {
          w.Append({{pid, epoch, 1 + in.Byte() % 3, count, 0}}, kKafkaOutOfOrderSequenceNumber);
        }
        w.client_epoch[pid] = epoch;
        w.Append({{pid, epoch, 0, count, 0}}, 0);
        break;
      }
      case 7: {  // a follower's truncation
        if (w.log_end == 0) break;
        const int64_t to = static_cast<int64_t>(in.U32() % static_cast<uint32_t>(w.log_end + 1));
        if (!w.log->TruncateTo(Offset(to)).ok()) Fail("truncation failed");
        if (to < w.log_start) {
          w.batches.clear();
          w.log_start = w.log_end = to;
        } else {
          w.CutModel(to);
          // The log ends at the cut batch's base (or at `to` past a gap);
          // the batch holding the log start may have gone with it.
          if (w.log->log_end_offset().value() != w.log_end) {
            Fail("truncation ended the log elsewhere");
          }
          w.log_start = std::min(w.log_start, w.log_end);
        }
        break;
      }
      case 8: {  // DeleteRecords
        w.log->MaybeIncrementHighWatermark(w.log->log_end_offset());
        const int64_t to = w.log_start + static_cast<int64_t>(in.Byte() % 16);
        absl::StatusOr<Offset> start = w.log->MaybeIncrementLogStartOffset(Offset(to), true);
        if (start.ok()) w.log_start = start->value();
        if (in.Byte() & 1) {
          if (!w.log->DeleteOldSegments().ok()) Fail("retention failed");
          if (w.log->log_start_offset().value() != w.log_start) Fail("retention moved the start");
        }
        break;
      }
      case 9: {  // a clean restart
        if (!w.log->Close().ok()) Fail("close failed");
        w.Open(true);
        break;
      }
      case 10: {  // a kill (nothing lost) or a power loss (the unsynced tail lost)
        if (in.Byte() & 1) (void)w.log->Flush();
        w.log.reset();
        const bool power = in.Byte() & 1;
        if (power) w.fs.SimulateCrash();
        w.Open(false);
        const int64_t end = w.log->log_end_offset().value();
        if (end > w.log_end) Fail("the log grew across a crash");
        w.log_start = w.log->log_start_offset().value();
        if (end < w.log_start) Fail("log end below log start");
        w.CutModel(end);
        if (w.log_end < end && end == w.log_start) {
          // The crash took records up to past the log start: the log
          // started over there (Log::Load).
          w.batches.clear();
          w.log_end = end;
        }
        if (w.log_end != end) Fail("a crash cut the log inside a batch");
        if (w.log_start > w.log_end) Fail("log start above log end");
        break;
      }
      case 11: {  // a roll
        if (!w.log->Roll().ok()) Fail("roll failed");
        break;
      }
    }
    w.CheckInvariants();
  }
  return 0;
}
