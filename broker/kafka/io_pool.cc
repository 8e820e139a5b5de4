#include "broker/kafka/io_pool.h"

#include <utility>

namespace strata::kafka {

IoPool::IoPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

IoPool::~IoPool() { Stop(); }

void IoPool::Submit(std::function<void()> task) {
  absl::MutexLock l(&mu_);
  if (stopping_) return;
  tasks_.push_back(std::move(task));
}

size_t IoPool::queued() const {
  absl::MutexLock l(&mu_);
  return tasks_.size();
}

void IoPool::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    tasks_.clear();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void IoPool::Run() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](IoPool* p)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->stopping_ || !p->tasks_.empty(); },
          this));
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace strata::kafka
