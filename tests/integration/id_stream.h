// IdStream: the data-safety probe the fault and reassignment tests share. A
// producer (acks=all, retries, idempotent: the default) sends unique
// sequential ids, id i to
// partition i % partitions, paced at a fixed rate, and remembers which were
// acknowledged; afterwards a consumer reads every partition from the
// beginning and Check() reports:
//   * acknowledged ids missing from the log (must be none);
//   * acknowledged ids out of send order within a partition (must be none);
//   * duplicates (must be none: a retry of a send whose answer was lost is
//     recognised by its producer id and sequence, issue 15).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata::client {
class Producer;
}

namespace strata::testing {

struct IdStreamReport {
  int64_t sent = 0;
  int64_t acknowledged = 0;
  int64_t failed = 0;
  std::string first_error;
  int64_t read = 0;
  int64_t log_end_total = 0;
  int64_t missing = 0;
  int64_t out_of_order = 0;
  int64_t duplicates = 0;

  // "sent S, acknowledged A, failed F; read R (log end offsets total E);
  // missing M, out of order O, duplicates D" — the fault test's wording.
  std::string Summary() const;
  bool Safe() const {
    return missing == 0 && out_of_order == 0 && duplicates == 0 && acknowledged > 0;
  }
};

class IdStream {
 public:
  // `value_bytes`: each value is the id padded with spaces to that size
  // (0: the id alone).
  IdStream(std::string bootstrap, std::string topic, int partitions, int rate,
           size_t value_bytes = 0);
  ~IdStream();

  absl::Status Start();
  // Stops sending and waits for every answer.
  void Stop();
  int64_t sent() const { return sent_.load(); }
  int64_t acknowledged();

  // After Stop(): reads every partition from the beginning (bounded to
  // 60 s) and compares. Prints the first few problems found.
  absl::StatusOr<IdStreamReport> Check();

 private:
  const std::string bootstrap_;
  const std::string topic_;
  const int partitions_;
  const int rate_;
  const size_t value_bytes_;
  std::unique_ptr<client::Producer> producer_;
  std::thread sender_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> sent_{0};

  std::mutex mu_;
  std::map<int, std::vector<int64_t>> acked_;  // by partition, in acknowledgement order
  int64_t failed_ = 0;
  std::string first_error_;
};

}  // namespace strata::testing
