#include "broker/kafka/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace strata::kafka {

namespace {
int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

EventLoop::EventLoop(std::string name, int64_t tick_ms, std::function<void()> tick)
    : name_(std::move(name)), tick_ms_(tick_ms), tick_(std::move(tick)) {}

EventLoop::~EventLoop() {
  Stop();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

absl::Status EventLoop::Init() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", strerror(errno)));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", strerror(errno)));
  }
  return absl::OkStatus();
}

void EventLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventLoop::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status EventLoop::Add(int fd, uint32_t events, Callback callback) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl(ADD): ", strerror(errno)));
  }
  callbacks_[fd] = std::move(callback);
  return absl::OkStatus();
}

void EventLoop::Modify(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  PCHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0) << "epoll_ctl(MOD) " << fd;
}

void EventLoop::Remove(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  callbacks_.erase(fd);
}

void EventLoop::Post(std::function<void()> work) {
  {
    absl::MutexLock l(&mu_);
    posted_.push_back(std::move(work));
  }
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> work;
  {
    absl::MutexLock l(&mu_);
    work.swap(posted_);
  }
  for (std::function<void()>& w : work) w();
}

void EventLoop::Run() {
  constexpr int kMaxEvents = 128;
  epoll_event events[kMaxEvents];
  int64_t next_tick = SteadyMs() + tick_ms_;
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) break;
    }
    const int64_t wait_ms = tick_ ? std::max<int64_t>(0, next_tick - SteadyMs()) : 1000;
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(wait_ms));
    if (n < 0 && errno != EINTR) PLOG(FATAL) << name_ << ": epoll_wait";
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count = 0;
        (void)!::read(wake_fd_, &count, sizeof(count));
        continue;
      }
      // A callback may remove fds (its own or, via close, others'): look
      // each one up as its turn comes.
      auto it = callbacks_.find(fd);
      if (it == callbacks_.end()) continue;
      Callback callback = it->second;
      callback(events[i].events);
    }
    RunPosted();
    if (tick_ && SteadyMs() >= next_tick) {
      tick_();
      next_tick = SteadyMs() + tick_ms_;
    }
  }
  RunPosted();
}

}  // namespace strata::kafka
