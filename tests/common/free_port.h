// PickFreePort: a loopback TCP port for a server a test is about to start.
//
// Asking the kernel for port 0 and closing the socket is not enough when
// tests run in parallel: the kernel hands the same ephemeral range to every
// outgoing connection, so a client socket of another test may hold the port
// by the time our server binds it, and two tests may be given the same port.
// Ports here come from below the ephemeral range (which outgoing connections
// never use) and from one counter shared by every test process through a
// locked file, so two tests running at once never pick the same port.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace strata::testing {

namespace free_port_internal {

// Whether `port` (0 for any) can be bound on loopback now, as a server
// would bind it (SO_REUSEADDR, so connections in TIME_WAIT do not count).
// Returns the port bound, or 0.
inline int TryBind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int bound = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      bound = ntohs(addr.sin_port);
  }
  ::close(fd);
  return bound;
}

// The first port of the kernel's ephemeral range (32768 by default).
inline int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  return (in >> low) ? low : 32768;
}

}  // namespace free_port_internal

inline int PickFreePort() {
  using namespace free_port_internal;
  // 2,500 ports just below the ephemeral range, clear of deploy/local's
  // 9092-9095, 19092-19095, 29092-29095 and 9644-9647.
  constexpr int kSpan = 2500;
  const int high = EphemeralLow();
  const int low = high - kSpan;
  if (low <= 29095) return TryBind(0);
  const int fd = ::open("/tmp/strata-test-ports", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
    if (fd >= 0) ::close(fd);
    return TryBind(0);
  }
  char buf[16] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  int next = 0;
  if (n > 0) std::sscanf(buf, "%d", &next);
  int port = 0;
  for (int tries = 0; tries < kSpan && port == 0; ++tries) {
    const int candidate = low + (next % kSpan + kSpan) % kSpan;
    next = (next + 1) % kSpan;
    port = TryBind(candidate);
  }
  const int len = std::snprintf(buf, sizeof(buf), "%d\n", next);
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, buf, static_cast<size_t>(len), 0) != len) {
    // A lost counter only means the next pick starts over; the bind check
    // still guards it.
  }
  ::close(fd);  // releases the lock
  return port != 0 ? port : TryBind(0);
}

}  // namespace strata::testing
