// EventLoop: one thread around one epoll instance. File descriptors are
// registered with a callback that runs on the loop's thread for their
// events; other threads hand work to the loop with Post(), which wakes it
// through an eventfd. A periodic tick (for idle checks) runs on the loop.
//
// Contract
//   Add/Modify/Remove and the callbacks run on the loop's thread only (Add
//   may also be called before Start). Post is thread-safe and never blocks
//   on the loop. Stop() runs the posted work left, then joins the thread;
//   the callbacks never run after it returns. Level-triggered epoll: a
//   callback that leaves bytes unread is called again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace strata::kafka {

class EventLoop {
 public:
  using Callback = std::function<void(uint32_t events)>;

  // `tick` runs about every `tick_ms` on the loop (nullptr: none).
  EventLoop(std::string name, int64_t tick_ms, std::function<void()> tick);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  absl::Status Init();  // creates the epoll and eventfd descriptors
  void Start();
  void Stop();

  absl::Status Add(int fd, uint32_t events, Callback callback);
  void Modify(int fd, uint32_t events);
  // Unregisters `fd` (the caller closes it).
  void Remove(int fd);

  void Post(std::function<void()> work);
  bool InLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Run();
  void RunPosted();

  const std::string name_;
  const int64_t tick_ms_;
  const std::function<void()> tick_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::unordered_map<int, Callback> callbacks_;  // the loop thread's

  absl::Mutex mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace strata::kafka
