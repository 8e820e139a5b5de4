// IoPool: the threads that run request handlers (num.io.threads), so that
// no event-loop thread ever runs one. Tasks run in submission order, on any
// of the threads.
//
// Contract: Submit is thread-safe and never blocks. Stop() lets the tasks
// running finish, drops the ones not started, and joins the threads.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace strata::kafka {

class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool();

  void Submit(std::function<void()> task);
  size_t queued() const;
  void Stop();

 private:
  void Run();

  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace strata::kafka
