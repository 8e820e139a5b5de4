// FrameReader: cuts a byte stream into Kafka request frames (an int32
// big-endian size, then that many bytes), whatever pieces the bytes arrive in.
//
// Contract
//   Append() takes the next bytes of the stream and completes as many frames
//   as they hold; Pop() hands completed frames out in order. A declared size
//   below 0 or above `max_frame_bytes` (socket.request.max.bytes) is refused
//   as soon as its 4 bytes are in: the prefix is read into a fixed buffer
//   and nothing is allocated for the body, so a client declaring 2 GiB
//   costs one log line and a close. A frame's buffer grows with the bytes
//   that actually arrive, never to the declared size up front. After a
//   refusal the reader is poisoned: every later Append() fails the same way
//   (the stream has no frame boundary left to resynchronise on).
//   Errors: InvalidArgument "declared a <n>-byte request, over
//   socket.request.max.bytes (<max>)" (or "a negative size"; or the key
//   SetMaxFrameBytes named).
//   Not thread-safe: one connection's event loop owns it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace strata::kafka {

class FrameReader {
 public:
  explicit FrameReader(int32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  absl::Status Append(std::string_view data);

  // Changes the bound for frames whose size has not come in yet; `key` names
  // it in the refusal (a SASL listener bounds frames by
  // sasl.server.max.receive.size until the client has authenticated).
  void SetMaxFrameBytes(int32_t max_frame_bytes, const char* key) {
    max_frame_bytes_ = max_frame_bytes;
    limit_key_ = key;
  }

  // The oldest completed frame (the bytes after the size prefix), if any.
  std::optional<std::string> Pop();
  size_t ready() const { return frames_.size(); }
  // The frame Pop() would return next; ready() must be > 0.
  const std::string& front() const { return frames_.front(); }
  // Whether a frame has started but not completed (prefix or body partial).
  bool mid_frame() const { return prefix_len_ > 0 || in_body_; }
  // Bytes held: completed frames plus the partial one.
  size_t buffered_bytes() const { return buffered_bytes_ + body_.size(); }
  // Bytes the reader has committed to: completed frames plus the whole
  // declared size of the frame in progress (what the listener's
  // queued.max.request.bytes counts once a frame's size is in).
  size_t committed_bytes() const { return buffered_bytes_ + (in_body_ ? body_size_ : 0); }
  // Memory reserved for the partial frame's body (at least its bytes):
  // what a lying size prefix could make the reader allocate.
  size_t partial_capacity() const { return body_.capacity(); }

 private:
  int32_t max_frame_bytes_;
  const char* limit_key_ = "socket.request.max.bytes";
  absl::Status error_;
  std::array<char, 4> prefix_{};
  size_t prefix_len_ = 0;
  bool in_body_ = false;
  size_t body_size_ = 0;  // declared size of the frame in progress
  std::string body_;
  std::deque<std::string> frames_;
  size_t buffered_bytes_ = 0;
};

}  // namespace strata::kafka
