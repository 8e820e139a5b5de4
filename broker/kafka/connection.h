// Connection: one Kafka client connection's state, without the socket — the
// bytes read, the requests cut from them, and the responses in request
// order. The listener's event loop owns the socket and drives it; the I/O
// pool's handlers complete requests from any thread.
//
//   loop:  OnBytes(read) -> NextRequest()* -> (hand each to the I/O pool)
//   pool:  Complete(seq, response bytes) | Fail(seq, reason) -> wake the loop
//   loop:  CollectReady() -> write unsent() -> Consumed(n) -> NextRequest()* ...
//
// Contract
//   Responses go out strictly in request order: a response completed early
//   waits in its slot until every earlier one is out (pipelined requests
//   answered in order whatever order their completions come in). At most
//   `max_inflight` requests are between NextRequest() and CollectReady()
//   (strata.kafka.max.inflight.requests.per.connection; 1 = Kafka's own
//   rule of muting a channel until its response is out), and none is handed
//   out while an earlier answer is still being written: the window closes
//   when an answer is on the wire, not when it is ready. With `may_overlap`
//   set, a request shares the window only when it and every request in it
//   may overlap (the listener: produce requests); any other waits, as with
//   a window of one, until the window is empty, and keeps it to itself:
//   while it is in flight nothing more is read. WantsRead() says
//   whether the loop should read more: not while the window is full, a
//   complete frame waits for it, or unsent output exceeds
//   `max_unsent_bytes` (back-pressure: a client that does not read its
//   answers stops being read). A failed request (Fail) closes the
//   connection once the responses before it (and its own, if it has one)
//   are out (close_reason()).
//   Complete/Fail are thread-safe; everything else belongs to the loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/kafka/frame_reader.h"

namespace strata::kafka {

// Whether a request frame (the bytes after its size prefix) is a Produce
// (api key 0): the requests the listener lets share a window.
bool IsProduceRequest(std::string_view frame);

class Connection {
 public:
  struct Options {
    int32_t max_frame_bytes = 104857600;  // socket.request.max.bytes
    int32_t max_inflight = 1;
    size_t max_unsent_bytes = 64 << 20;
    // Whether a request (its frame) may be in flight beside others; unset:
    // every request may.
    std::function<bool(std::string_view frame)> may_overlap = nullptr;
  };
  struct Request {
    uint64_t seq = 0;   // the slot Complete/Fail name
    std::string frame;  // the bytes after the size prefix
  };

  Connection(Options options, std::string peer);

  const std::string& peer() const { return peer_; }

  // ---- the loop's ----
  // The next bytes from the socket; an error (a refused frame size) means
  // close the connection now.
  absl::Status OnBytes(std::string_view data);
  // The frame bound from now on (frame_reader.h); `key` names it.
  void SetMaxFrameBytes(int32_t max_frame_bytes, const char* key) {
    reader_.SetMaxFrameBytes(max_frame_bytes, key);
  }
  // The next complete request, if the window has room for it.
  std::optional<Request> NextRequest();
  bool WantsRead() const;
  // Moves the completed prefix of the slots into the unsent output.
  void CollectReady();
  std::string_view unsent() const { return std::string_view(out_).substr(out_pos_); }
  void Consumed(size_t n);
  // Set once a failed request's turn has come: close after unsent() is out.
  const std::optional<std::string>& close_reason() const { return close_reason_; }
  bool mid_frame() const { return reader_.mid_frame(); }
  // Request bytes read and not yet handed out by NextRequest().
  size_t buffered_bytes() const { return reader_.buffered_bytes(); }
  // Those, counting a frame in progress at its declared size.
  size_t committed_bytes() const { return reader_.committed_bytes(); }
  // Requests handed out and not yet collected.
  int32_t inflight() const;

  // ---- any thread ----
  // `response`: the size-prefixed response frame; empty for none (acks=0).
  // `hold` is kept until the response's last byte is Consumed().
  void Complete(uint64_t seq, std::string response, std::shared_ptr<void> hold = nullptr);
  // Closes the connection once the answers before `seq` are out, and
  // `response` after them (a refusal the client is told about, e.g. a
  // failed SASL authentication; empty: none).
  void Fail(uint64_t seq, std::string reason, std::string response = "");

 private:
  struct Slot {
    uint64_t seq = 0;
    // Handed out alone (Options::may_overlap said no).
    bool exclusive = false;
    bool done = false;
    std::string response;
    std::shared_ptr<void> hold;
    std::optional<std::string> failure;
  };

  const Options options_;
  const std::string peer_;
  FrameReader reader_;
  uint64_t next_seq_ = 0;
  std::string out_;
  size_t out_pos_ = 0;
  // What collected answers hold, with where in out_ each answer ends.
  std::deque<std::pair<size_t, std::shared_ptr<void>>> holds_;
  std::optional<std::string> close_reason_;

  mutable absl::Mutex mu_;
  std::deque<Slot> slots_ ABSL_GUARDED_BY(mu_);  // in request order
  // An exclusive request is handed out only into an empty window and keeps
  // it to itself: when one is in flight, it is the only slot.
  bool ExclusiveInFlightLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !slots_.empty() && slots_.front().exclusive;
  }
};

}  // namespace strata::kafka
